package dev.loupe.model.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.testing.HfFixture;
import org.junit.jupiter.api.Test;

class OptConfigTest {
    private static ObjectNode textConfig() throws Exception {
        return (ObjectNode) new ObjectMapper().readTree(HfFixture.root()
                .resolve("blip2-opt/checkpoint/config.json").toFile()).get("text_config");
    }

    @Test
    void readsTheBlip2TextConfig() throws Exception {
        DecoderConfig c = DecoderGraphs.config(textConfig());
        assertThat(c).isInstanceOf(OptConfig.class);
        OptConfig opt = (OptConfig) c;
        assertThat(opt.hiddenSize()).isEqualTo(64);
        assertThat(opt.numHiddenLayers()).isEqualTo(2);
        assertThat(opt.headDim()).isEqualTo(16);
        assertThat(opt.numKeyValueHeads()).isEqualTo(4);
        assertThat(opt.vocabSize()).isEqualTo(321);
        assertThat(opt.maxPositionEmbeddings()).isEqualTo(128);
        assertThat(opt.hasFinalLayerNorm()).isTrue();
        assertThat(opt.tieWordEmbeddings()).isTrue();
    }

    @Test
    void rejectsWhatTheGraphsCannotExpress() throws Exception {
        ObjectNode gelu = textConfig().put("activation_function", "gelu");
        assertThatThrownBy(() -> OptConfig.fromJson(gelu)).hasMessageContaining("activation_function gelu");
        ObjectNode projected = textConfig().put("word_embed_proj_dim", 32);
        assertThatThrownBy(() -> OptConfig.fromJson(projected)).hasMessageContaining("word_embed_proj_dim 32");
        ObjectNode other = textConfig().put("model_type", "gpt2");
        assertThatThrownBy(() -> DecoderGraphs.config(other)).hasMessageContaining("'gpt2' is not supported");
    }
}
