package io.jlm.models.state;

import io.jlm.core.tensor.GGMLType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvPolicyTest {

    @Test
    void parsesEverySpec() {
        assertEquals(new KvPolicy.Full(GGMLType.F16), KvPolicy.parse("full"));
        assertEquals(new KvPolicy.Full(GGMLType.F32), KvPolicy.parse("F32"));
        assertEquals(new KvPolicy.Quantized(GGMLType.Q4_0), KvPolicy.parse("q4_0"));
        KvPolicy.SinkWindow sw = (KvPolicy.SinkWindow) KvPolicy.parse("sink:4,window:256");
        assertEquals(4, sw.sinks());
        assertEquals(256, sw.window());
        assertEquals(SinkWindowKvCache.Mode.STREAMING, sw.mode());
        KvPolicy.SinkWindow lm = (KvPolicy.SinkWindow) KvPolicy.parse("sink:4,window:256,lminf=512");
        assertEquals(SinkWindowKvCache.Mode.LM_INFINITE, lm.mode());
        assertEquals(512, lm.distanceCap());
        assertEquals(0, ((KvPolicy.SinkWindow) KvPolicy.parse("window:64")).sinks());
        KvPolicy.Evict h2o = (KvPolicy.Evict) KvPolicy.parse("h2o:budget=0.2");
        assertEquals(EvictingKvCache.Scoring.H2O, h2o.scoring());
        assertEquals(200, h2o.budgetTokens(1000));
        assertEquals(300, ((KvPolicy.Evict) KvPolicy.parse("a2sf:budget=300,forget=0.5")).budgetTokens(1000));
        assertEquals(0.5f, ((KvPolicy.Evict) KvPolicy.parse("a2sf:budget=300,forget=0.5")).forget());
        assertEquals(2f, ((KvPolicy.Evict) KvPolicy.parse("keyformer:budget=0.1,tau=2")).tau());
        assertEquals(0.25f, ((KvPolicy.ThinK) KvPolicy.parse("think:ratio=0.25")).ratio());
        for (String s : new String[]{"full", "f32", "q8_0", "sink:4,window:256", "window:8", "h2o:budget=0.2,recent=0.5",
                "a2sf:budget=0.2,recent=0.5,forget=0.9", "keyformer:budget=0.2,recent=0.5,tau=1", "think:ratio=0.5,observe=32"}) {
            assertEquals(s, KvPolicy.parse(s).spec(), "canonical spec round trip");
        }
    }

    @Test
    void createsCachesOfTheRightKind() {
        assertInstanceOf(QuantizedKvCache.class, KvPolicy.parse("q8_0").create(2, 64, 2, 32));
        KvCache e = KvPolicy.parse("h2o:budget=0.25").create(2, 64, 2, 32);
        assertEquals(16, ((EvictingKvCache) e).budget());
        assertEquals(64, e.capacity());
        assertTrue(e.maxAttended() < 64 + KvPolicy.DEFAULT_CHUNK + 1);
        assertInstanceOf(SinkWindowKvCache.class, KvPolicy.parse("sink:4,window:16").create(2, 1 << 20, 2, 32));
    }

    @Test
    void rejectsBadSpecs() {
        assertThrows(IllegalArgumentException.class, () -> KvPolicy.parse("lru:10"));
        assertThrows(IllegalArgumentException.class, () -> KvPolicy.parse("sink:4"));
        assertThrows(IllegalArgumentException.class, () -> KvPolicy.parse("h2o"));
        assertThrows(IllegalArgumentException.class, () -> KvPolicy.parse("h2o:budget=abc"));
        assertThrows(IllegalArgumentException.class, () -> KvPolicy.parse("sink:4,window:16,bogus=1"));
        assertThrows(IllegalArgumentException.class, () -> KvPolicy.parse(""));
    }
}
