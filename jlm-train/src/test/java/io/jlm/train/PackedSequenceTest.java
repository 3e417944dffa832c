package io.jlm.train;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Packed sequences with document masking: a document packed after another gives the logits it gives alone. */
class PackedSequenceTest {

    static List<ModelConfig> configs() {
        List<ModelConfig> out = new ArrayList<>();
        out.add(ModelConfig.llama(13, 16, 2, 2, 16, 24));
        out.add(ModelConfig.gpt(13, 16, 2, 2, 16));
        for (String pat : new String[]{"AFWF", "LFRF", "MFAF"})
            for (MixerConfig.Position pos : MixerConfig.Position.values())
                out.add(ModelConfig.hybrid(13, 16, 2, 16, 24, MixerConfig.of(pat, 2, 16).withWindow(3).withKvHeads(1)
                        .withPosition(pos).withSsm(4, 3, 32, 3, 4, 2)));
        return out;
    }

    @Test void packedDocumentsMatchSeparateRuns() {
        int[] a = {1, 5, 2, 7, 3}, b = {4, 4, 9, 0, 12, 6, 8}, packedIds = new int[12], docStart = new int[12];
        System.arraycopy(a, 0, packedIds, 0, 5);
        System.arraycopy(b, 0, packedIds, 5, 7);
        for (int i = 5; i < 12; i++) docStart[i] = 5;
        for (ModelConfig cfg : configs()) {
            Model model = new Model(cfg, 11);
            Model.Step packed = model.build(new Graph(GradCheckTest.POOL), 1, 12, true);
            System.arraycopy(packedIds, 0, packed.ids(), 0, 12);
            System.arraycopy(docStart, 0, packed.docStart(), 0, 12);
            packed.graph().forward();
            int v = cfg.vocab();
            for (int[] doc : new int[][]{a, b}) {
                Model.Step alone = model.build(new Graph(GradCheckTest.POOL), 1, doc.length);
                System.arraycopy(doc, 0, alone.ids(), 0, doc.length);
                alone.graph().forward();
                int off = doc == a ? 0 : 5;
                for (int i = 0; i < doc.length * v; i++)
                    assertEquals(alone.logits().data[i], packed.logits().data[off * v + i], 1e-5,
                            cfg.arch() + " " + cfg.mixers() + ": logit " + i + " of the document at " + off);
            }
        }
    }

    @Test void packedGradientsAreExact() {
        ModelConfig cfg = ModelConfig.hybrid(11, 6, 2, 8, 16, MixerConfig.of("AFMFLW", 2, 8).withWindow(3)
                .withSsm(3, 3, 12, 3, 4, 2));
        GradCheckTest.checkWholeModel(cfg, true, new int[]{0, 0, 2, 2, 2, 5, 0, 0, 0, 3, 3, 3});
    }

    @Test void fftConvolutionLayersRefusePacking() {
        Model model = new Model(ModelConfig.hybrid(11, 6, 2, 8, 16, MixerConfig.of("SF", 2, 8)), 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> model.build(new Graph(GradCheckTest.POOL), 1, 6, true));
        assertTrue(e.getMessage().contains("S4D/H3"), e.getMessage());
    }
}
