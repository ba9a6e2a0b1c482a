package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class LlamaConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode base() {
        return JSON.createObjectNode().put("model_type", "llama").put("vocab_size", 100).put("hidden_size", 64)
                .put("intermediate_size", 128).put("num_hidden_layers", 2).put("num_attention_heads", 8);
    }

    @Test
    void defaultsFollowTransformers() {
        LlamaConfig c = LlamaConfig.fromJson(base());
        assertThat(c.numKeyValueHeads()).isEqualTo(8);
        assertThat(c.headDim()).isEqualTo(8);
        assertThat(c.groupSize()).isEqualTo(1);
        assertThat(c.rmsNormEps()).isEqualTo(1e-6);
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.ropeScaling()).isEqualTo(LlamaConfig.RopeScaling.NONE);
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.ropeInverseFrequencies()).containsExactly(1f, 0.1f, 0.01f, 0.001f);
    }

    @Test
    void ropeScalingVariants() {
        ObjectNode linear = base();
        linear.putObject("rope_scaling").put("type", "linear").put("factor", 4.0);
        assertThat(LlamaConfig.fromJson(linear).ropeInverseFrequencies()[1]).isEqualTo(0.025f);

        ObjectNode explicitDefault = base();
        explicitDefault.putObject("rope_scaling").put("rope_type", "default");
        assertThat(LlamaConfig.fromJson(explicitDefault).ropeScaling()).isEqualTo(LlamaConfig.RopeScaling.NONE);

        ObjectNode llama3 = base().put("max_position_embeddings", 1024);
        llama3.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 64);
        float[] inv = LlamaConfig.fromJson(llama3).ropeInverseFrequencies();
        // wavelengths 6.3 (high frequency: kept), 63 (medium: smoothed), 628 and 6283 (low: divided by 8)
        assertThat(inv[0]).isEqualTo(1f);
        assertThat(inv[1]).isStrictlyBetween(0.1f / 8, 0.1f);
        assertThat(inv[2]).isEqualTo(0.01f / 8);
        assertThat(inv[3]).isEqualTo(0.001f / 8);
    }

    @Test
    void unsupportedOrInconsistentSettingsAreRejected() {
        ObjectNode dynamic = base();
        dynamic.putObject("rope_scaling").put("rope_type", "dynamic").put("factor", 2.0);
        assertThatThrownBy(() -> LlamaConfig.fromJson(dynamic)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rope_scaling type dynamic is not supported");
        assertThatThrownBy(() -> LlamaConfig.fromJson(base().put("num_key_value_heads", 3)))
                .hasMessageContaining("num_key_value_heads (3) must divide num_attention_heads (8)");
        assertThatThrownBy(() -> LlamaConfig.fromJson(base().put("hidden_act", "gelu")))
                .hasMessageContaining("hidden_act must be silu");
        assertThatThrownBy(() -> LlamaConfig.fromJson(base().put("model_type", "opt")))
                .hasMessageContaining("model_type must be llama");
        ObjectNode noVocab = base();
        noVocab.remove("vocab_size");
        assertThatThrownBy(() -> LlamaConfig.fromJson(noVocab)).hasMessageContaining("vocab_size");
        assertThatThrownBy(() -> LlamaConfig.fromJson(base().put("hidden_size", 60)))
                .hasMessageContaining("divisible");
        assertThatThrownBy(() -> LlamaConfig.fromJson(base().put("partial_rotary_factor", 0.5)))
                .hasMessageContaining("partial_rotary_factor");
    }
}
