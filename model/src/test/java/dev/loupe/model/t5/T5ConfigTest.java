package dev.loupe.model.t5;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.layers.Activation;
import org.junit.jupiter.api.Test;

class T5ConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void flanT5IsGatedTanhGeluWithAnUntiedHead() throws Exception {
        T5Config c = T5Config.fromJson(JSON.readTree("""
                {"model_type": "t5", "d_model": 64, "d_kv": 16, "d_ff": 128, "num_heads": 4, "num_layers": 2,
                 "feed_forward_proj": "gated-gelu", "tie_word_embeddings": false, "vocab_size": 256}"""));
        assertThat(c.gatedAct()).isTrue();
        assertThat(c.activation()).isEqualTo(Activation.GELU_TANH);
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.numDecoderLayers()).as("defaults to num_layers").isEqualTo(2);
        assertThat(c.innerDim()).isEqualTo(64);
        assertThat(c.relativeAttentionNumBuckets()).isEqualTo(32);
        assertThat(c.relativeAttentionMaxDistance()).isEqualTo(128);
    }

    @Test
    void originalT5IsPlainReluWithATiedHead() throws Exception {
        T5Config c = T5Config.fromJson(JSON.readTree("{\"model_type\": \"t5\", \"feed_forward_proj\": \"relu\"}"));
        assertThat(c.gatedAct()).isFalse();
        assertThat(c.activation()).isEqualTo(Activation.RELU);
        assertThat(c.tieWordEmbeddings()).isTrue();
    }

    @Test
    void unknownProjectionsAreRefused() throws Exception {
        assertThatThrownBy(() -> T5Config.fromJson(JSON.readTree("{\"feed_forward_proj\": \"double-gated-gelu\"}")))
                .hasMessageContaining("feed_forward_proj");
        assertThatThrownBy(() -> T5Config.fromJson(JSON.readTree("{\"model_type\": \"llama\"}")))
                .hasMessageContaining("not t5");
    }
}
