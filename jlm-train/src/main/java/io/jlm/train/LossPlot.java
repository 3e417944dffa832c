package io.jlm.train;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Writes the loss curves of a training CSV ({@code iter,lr,train_loss,val_loss,step_ms}) as a PNG with XChart. */
public final class LossPlot {
    private LossPlot() {}

    public static void write(Path csv, Path png, PrintStream log) throws IOException {
        List<Double> it = new ArrayList<>(), tl = new ArrayList<>(), vit = new ArrayList<>(), vl = new ArrayList<>();
        double smooth = Double.NaN;
        for (String line : Files.readAllLines(csv)) {
            if (line.isEmpty() || line.startsWith("iter")) continue;
            String[] f = line.split(",", -1);
            if (f.length < 4) throw new IOException(csv + ": bad line '" + line + "' (expected iter,lr,train_loss,val_loss,...)");
            double i = Double.parseDouble(f[0]) + 1, l = Double.parseDouble(f[2]);
            smooth = Double.isNaN(smooth) ? l : 0.95 * smooth + 0.05 * l;
            it.add(i); tl.add(smooth);
            if (!f[3].isEmpty()) { vit.add(i); vl.add(Double.parseDouble(f[3])); }
        }
        if (it.isEmpty()) return;
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(800).height(500).title("loss").xAxisTitle("iteration")
                .yAxisTitle("cross-entropy (nats)").build();
        chart.getStyler().setXAxisDecimalPattern("#");
        chart.getStyler().setXAxisTickMarkSpacingHint(120);
        chart.addSeries("train (EMA 0.95)", it, tl).setMarker(SeriesMarkers.NONE);
        if (!vit.isEmpty()) chart.addSeries("val", vit, vl).setMarker(SeriesMarkers.CIRCLE);
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        if (log != null) log.println("wrote " + png);
    }
}
