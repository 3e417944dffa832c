package io.jlm.models.hybrid;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.formats.gguf.GGUFValue;
import io.jlm.models.ModelFormatException;
import io.jlm.models.Models;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Broken jlm GGUF files fail to load with a {@link ModelFormatException} naming the key or tensor and what was expected. */
class HybridFormatTest {
    private static final ThreadPool POOL = new ThreadPool(1);

    @TempDir
    Path dir;

    @AfterAll
    static void closePool() { POOL.close(); }

    /** Loads {@code pattern} after {@code edit}; returns the error message, which must contain every {@code part}. */
    private String failure(String pattern, Consumer<HybridFixture> edit, String... parts) throws IOException {
        HybridFixture fx = new HybridFixture(pattern).generate(1);
        edit.accept(fx);
        Path p = fx.write(dir, "bad");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(p, POOL).close());
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message should contain \"" + part + "\": " + e.getMessage());
        }
        assertTrue(e.getMessage().contains("bad.gguf: "), "message names the file: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void unknownLetter() throws IOException {
        failure("AFWF", fx -> fx.metadata.put("jlm.layers", GGUFValue.of("AFXF")),
                "'jlm.layers' = \"AFXF\"", "unknown letter 'X' at sublayer 2", "expected one of A W F L R S H M");
        failure("AFWF", fx -> fx.metadata.put("jlm.layers", GGUFValue.of("")), "'jlm.layers' is empty");
    }

    @Test
    void blockCountMismatch() throws IOException {
        failure("AFWF", fx -> fx.metadata.put("jlm.block_count", GGUFValue.ofU32(5)),
                "'jlm.block_count' = 5", "has 4 sublayers; expected 4");
    }

    @Test
    void missingTensorNamesItsShape() throws IOException {
        // W at sublayer 2: attn_k is [nkv*hs, d] = [8, 16], GGUF ne = [16, 8]
        failure("AFWF", fx -> { fx.data.remove("blk.2.attn_k.weight"); fx.dims.remove("blk.2.attn_k.weight"); },
                "tensor 'blk.2.attn_k.weight' is missing", "sublayer 2 'W' of \"AFWF\"", "[8, 16]", "GGUF ne = [16, 8]");
        failure("SFHF", fx -> { fx.data.remove("blk.2.h3_shift.weight"); fx.dims.remove("blk.2.h3_shift.weight"); },
                "tensor 'blk.2.h3_shift.weight' is missing", "sublayer 2 'H'", "[16, 3]");
        failure("MF", fx -> { fx.data.remove("blk.0.ssm_a.weight"); fx.dims.remove("blk.0.ssm_a.weight"); },
                "tensor 'blk.0.ssm_a.weight' is missing", "[24, 4]");
        failure("AF", fx -> { fx.data.remove("token_embd.weight"); fx.dims.remove("token_embd.weight"); },
                "tensor 'token_embd.weight' is missing");
    }

    @Test
    void wrongTensorShape() throws IOException {
        failure("LF", fx -> { fx.dims.put("blk.0.attn_v.weight", new long[]{8, 32}); },
                "tensor 'blk.0.attn_v.weight'", "has shape [8, 32]", "expected [16, 16]");
    }

    @Test
    void missingOrBadKeys() throws IOException {
        failure("AFWF", fx -> fx.metadata.remove("jlm.attention.sliding_window"),
                "'jlm.attention.sliding_window' is missing; expected a positive integer");
        failure("AF", fx -> fx.metadata.put("jlm.position", GGUFValue.of("sinusoidal")),
                "'jlm.position' = \"sinusoidal\"", "expected one of rope, alibi, none, learned");
        failure("AF", fx -> fx.metadata.remove("jlm.position"), "'jlm.position' is missing");
        failure("AF", fx -> fx.metadata.put("jlm.rope.scaling.type", GGUFValue.of("yarn")),
                "'jlm.rope.scaling.type' = \"yarn\"", "expected one of none, linear, ntk");
        failure("AF", fx -> {
            fx.metadata.put("jlm.rope.scaling.type", GGUFValue.of("linear"));
            fx.metadata.remove("jlm.rope.scaling.factor");
        }, "'jlm.rope.scaling.factor' is missing");
        failure("MF", fx -> fx.metadata.remove("jlm.ssm.state_size"), "'jlm.ssm.state_size' is missing");
        failure("SF", fx -> fx.metadata.remove("jlm.s4d.modes"), "'jlm.s4d.modes' is missing");
        failure("HF", fx -> fx.metadata.remove("jlm.h3.shift_size"), "'jlm.h3.shift_size' is missing");
        failure("AF", fx -> fx.metadata.put("jlm.attention.head_count", GGUFValue.ofU32(3)),
                "'jlm.attention.head_count' = 3 does not divide jlm.embedding_length = 16");
        failure("AF", fx -> fx.metadata.put("jlm.attention.head_count_kv", GGUFValue.ofU32(3)),
                "'jlm.attention.head_count_kv' = 3; expected a divisor of jlm.attention.head_count = 4");
        failure("AF", fx -> fx.metadata.remove("jlm.context_length"), "'jlm.context_length' is missing");
        failure("AF", fx -> fx.metadata.put("jlm.layers", GGUFValue.ofU32(4)), "'jlm.layers' has type");
    }

    @Test
    void keysOfUnusedLettersAreOptional() throws IOException {
        HybridFixture fx = new HybridFixture("LFRF").generate(2);
        for (String k : new String[]{"jlm.position", "jlm.attention.sliding_window", "jlm.s4d.modes", "jlm.h3.shift_size",
                "jlm.ssm.inner_size", "jlm.ssm.conv_kernel", "jlm.ssm.state_size", "jlm.ssm.time_step_rank",
                "jlm.rope.freq_base", "jlm.rope.scaling.type", "jlm.rope.scaling.factor",
                "jlm.attention.head_count_kv"}) {
            fx.metadata.remove(k);
        }
        Models.load(fx.write(dir, "ok"), POOL).close();
    }
}
