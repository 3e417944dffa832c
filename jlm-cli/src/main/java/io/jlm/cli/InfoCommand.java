package io.jlm.cli;

import io.jlm.formats.gguf.GGUFFile;
import io.jlm.formats.gguf.GGUFTensorInfo;
import io.jlm.formats.gguf.GGUFValue;
import io.jlm.formats.gguf.GGUFValueType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "info", mixinStandardHelpOptions = true, description = "Prints a GGUF file's metadata and tensor tables.")
final class InfoCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, description = "GGUF file.")
    Path modelOption;

    @Parameters(arity = "0..1", paramLabel = "FILE", description = "GGUF file (instead of -m).")
    Path modelParam;

    @Option(names = "--no-tensors", description = "Only the metadata table.")
    boolean noTensors;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Path path = modelOption != null ? modelOption : modelParam;
        if (path == null) throw new IllegalArgumentException("no model file: give -m FILE");
        PrintWriter out = spec.commandLine().getOut();
        try (GGUFFile f = GGUFFile.open(path)) {
            long params = 0, bytes = 0;
            for (GGUFTensorInfo t : f.tensors()) { params += t.elements(); bytes += t.byteSize(); }
            out.printf(Locale.ROOT, "file: %s%nGGUF version: %d, %d metadata entries, %d tensors, %,d parameters, %s of tensor data, alignment %d%n%n",
                    path, f.version(), f.metadata().entries().size(), f.tensors().size(), params, human(bytes), f.alignment());

            int kw = "key".length(), tw = "type".length();
            for (Map.Entry<String, GGUFValue> e : f.metadata().entries().entrySet()) {
                kw = Math.max(kw, e.getKey().length());
                tw = Math.max(tw, typeName(e.getValue()).length());
            }
            out.printf(Locale.ROOT, "%-" + kw + "s  %-" + tw + "s  %s%n", "key", "type", "value");
            for (Map.Entry<String, GGUFValue> e : f.metadata().entries().entrySet()) {
                out.printf(Locale.ROOT, "%-" + kw + "s  %-" + tw + "s  %s%n", e.getKey(), typeName(e.getValue()), valueText(e.getValue()));
            }
            if (!noTensors) {
                out.println();
                int nw = "name".length(), yw = "type".length(), sw = "shape".length();
                for (GGUFTensorInfo t : f.tensors()) {
                    nw = Math.max(nw, t.name().length());
                    yw = Math.max(yw, t.type().toString().length());
                    sw = Math.max(sw, shape(t).length());
                }
                out.printf(Locale.ROOT, "%-" + nw + "s  %-" + yw + "s  %-" + sw + "s  %14s%n", "name", "type", "shape", "bytes");
                for (GGUFTensorInfo t : f.tensors()) {
                    out.printf(Locale.ROOT, "%-" + nw + "s  %-" + yw + "s  %-" + sw + "s  %14d%n", t.name(), t.type(), shape(t), t.byteSize());
                }
            }
            out.flush();
        }
        return 0;
    }

    private static String shape(GGUFTensorInfo t) {
        return Arrays.toString(t.shape());
    }

    private static String typeName(GGUFValue v) {
        return v.type() == GGUFValueType.ARRAY ? "array[" + v.elementType() + "]" : v.type().toString();
    }

    private static String valueText(GGUFValue v) {
        String s = v.toString();
        if (v.type() == GGUFValueType.ARRAY) {
            int at = s.indexOf("] ");
            if (at >= 0) s = v.length() + " elements: " + s.substring(at + 2); // the type is already in its column
        }
        return s;
    }

    static String human(long bytes) {
        if (bytes < 1024) return bytes + " B";
        double v = bytes;
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        int u = -1;
        while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
        return String.format(Locale.ROOT, "%.2f %s", v, units[u]);
    }
}
