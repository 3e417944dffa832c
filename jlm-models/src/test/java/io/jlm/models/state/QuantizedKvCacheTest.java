package io.jlm.models.state;

import io.jlm.core.tensor.GGMLType;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Quantized caches against an independent scalar quantize/dequantize reference (ggml's q8_0 and q4_0 formulas). */
class QuantizedKvCacheTest {

    /** ggml quantize_row_q8_0_ref then dequantize: d = amax/127 (as f16), q = round(x/d). */
    static float[] refQ8(float[] x, int off, int n) {
        float[] y = new float[n];
        for (int b = 0; b < n; b += 32) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[off + b + j]));
            float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
            float dh = Float.float16ToFloat(Float.floatToFloat16(d));
            for (int j = 0; j < 32; j++) y[b + j] = Math.round(x[off + b + j] * id) * dh;
        }
        return y;
    }

    /** ggml quantize_row_q4_0_ref then dequantize: d = max/-8, q = min(15, (int)(x/d + 8.5)). */
    static float[] refQ4(float[] x, int off, int n) {
        float[] y = new float[n];
        for (int b = 0; b < n; b += 32) {
            float amax = 0, max = 0;
            for (int j = 0; j < 32; j++) {
                float v = x[off + b + j];
                if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
            }
            float d = max / -8f, id = d != 0 ? 1f / d : 0f;
            float dh = Float.float16ToFloat(Float.floatToFloat16(d));
            for (int j = 0; j < 32; j++) {
                int q = Math.min(15, (int) (x[off + b + j] * id + 8.5f));
                y[b + j] = (q - 8) * dh;
            }
        }
        return y;
    }

    @Test
    void scoresAndAccumulateMatchDequantizedReference() {
        for (GGMLType type : new GGMLType[]{GGMLType.Q8_0, GGMLType.Q4_0}) {
            for (int[] dims : new int[][]{{4, 8}, {2, 64}, {1, 32}, {2, 48}}) {
                int kvHeads = dims[0], hd = dims[1], kvDim = kvHeads * hd, n = 40, layers = 2;
                Random r = new Random(7 + hd);
                QuantizedKvCache cache = new QuantizedKvCache(type, layers, n, kvHeads, hd);
                float[][] kd = new float[n][], vd = new float[n][];
                for (int p = 0; p < n; p++) {
                    float[] k = RefAttention.random(r, kvDim), v = RefAttention.random(r, kvDim);
                    cache.write(1, p, k, 0, v, 0);
                    kd[p] = type == GGMLType.Q8_0 ? refQ8(k, 0, kvDim) : refQ4(k, 0, kvDim);
                    vd[p] = type == GGMLType.Q8_0 ? refQ8(v, 0, kvDim) : refQ4(v, 0, kvDim);
                }
                assertEquals(n, cache.length());
                float[] row = new float[kvDim];
                cache.dequantizeRow(1, 5, false, row);
                for (int i = 0; i < kvDim; i++) assertEquals(kd[5][i], row[i], 0f, type + " key element " + i);
                for (int h = 0; h < kvHeads; h++) {
                    float[] q = RefAttention.random(r, hd);
                    float[] sc = new float[n];
                    cache.scores(1, h, q, 0, 3, n, sc, 0);
                    for (int p = 3; p < n; p++) {
                        double e = 0;
                        for (int i = 0; i < hd; i++) e += (double) q[i] * kd[p][h * hd + i];
                        assertEquals(e, sc[p - 3], 1e-4 * (1 + Math.abs(e)), type + " hd=" + hd + " score p=" + p);
                    }
                    float[] w = RefAttention.random(r, n);
                    float[] out = new float[hd + 3];
                    cache.accumulate(1, h, w, 0, 0, n, out, 3);
                    for (int i = 0; i < hd; i++) {
                        double e = 0;
                        for (int p = 0; p < n; p++) e += (double) w[p] * vd[p][h * hd + i];
                        assertEquals(e, out[3 + i], 1e-4 * (1 + Math.abs(e)), type + " hd=" + hd + " value " + i);
                    }
                }
            }
        }
    }

    @Test
    void bytesAgainstF32() {
        long f32 = new ContiguousKvCache(GGMLType.F32, 4, 1024, 4, 64).bytes();
        long q8 = new QuantizedKvCache(GGMLType.Q8_0, 4, 1024, 4, 64).bytes();
        long q4 = new QuantizedKvCache(GGMLType.Q4_0, 4, 1024, 4, 64).bytes();
        assertEquals(2L * 4 * 1024 * 4 * 64 / 32 * 34, q8);
        assertEquals(2L * 4 * 1024 * 4 * 64 / 32 * 18, q4);
        assertTrue((double) f32 / q8 >= 3.5, "q8_0 ratio " + (double) f32 / q8);
        assertTrue((double) f32 / q4 >= 6, "q4_0 ratio " + (double) f32 / q4);
    }

    @Test
    void rejectsRowsThatAreNotWholeBlocks() {
        assertThrows(IllegalArgumentException.class, () -> new QuantizedKvCache(GGMLType.Q8_0, 1, 8, 3, 8));
        assertThrows(IllegalArgumentException.class, () -> new QuantizedKvCache(GGMLType.F16, 1, 8, 4, 8));
    }
}
