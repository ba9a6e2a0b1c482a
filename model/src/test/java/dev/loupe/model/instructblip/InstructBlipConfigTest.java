package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.testing.HfFixture;
import org.junit.jupiter.api.Test;

class InstructBlipConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void readsTheFixtureConfig() throws Exception {
        InstructBlipConfig c = InstructBlipConfig.load(HfFixture.VICUNA.checkpoint());
        assertThat(c.vision()).isEqualTo(new InstructBlipConfig.VisionConfig(48, 2, 4, 112, 32, 8, 1e-6, true, "gelu"));
        assertThat(c.vision().numPositions()).isEqualTo(17);
        assertThat(c.qformer()).isEqualTo(new InstructBlipConfig.QFormerConfig(32, 4, 4, 64, 2, 48, 1e-12, 201, 64,
                "absolute", "gelu", 0));
        assertThat(c.qformer().hasCrossAttention(0)).isTrue();
        assertThat(c.qformer().hasCrossAttention(1)).isFalse();
        assertThat(c.qformer().hasCrossAttention(2)).isTrue();
        assertThat(c.numQueryTokens()).isEqualTo(8);
        assertThat(c.imageTokenIndex()).isEqualTo(385);
        assertThat(c.useDecoderOnlyLanguageModel()).isTrue();
        assertThat(c.textConfig().path("model_type").asText()).isEqualTo("llama");
        assertThat(c.languageHiddenSize()).isEqualTo(64);
    }

    @Test
    void rejectsRelativePositionEmbeddings() throws Exception {
        ObjectNode root = fixture();
        ((ObjectNode) root.get("qformer_config")).put("position_embedding_type", "relative_key");
        assertThatThrownBy(() -> InstructBlipConfig.parse(root)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("qformer_config.position_embedding_type 'relative_key' is not supported");
    }

    @Test
    void rejectsUnknownActivation() throws Exception {
        ObjectNode root = fixture();
        ((ObjectNode) root.get("vision_config")).put("hidden_act", "mish");
        assertThatThrownBy(() -> InstructBlipConfig.parse(root)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("vision_config.hidden_act 'mish' is not supported");
    }

    @Test
    void rejectsInconsistentDimensions() throws Exception {
        ObjectNode a = fixture();
        ((ObjectNode) a.get("qformer_config")).put("encoder_hidden_size", 64);
        assertThatThrownBy(() -> InstructBlipConfig.parse(a)).hasMessageContaining("encoder_hidden_size 64");
        ObjectNode b = fixture();
        ((ObjectNode) b.get("vision_config")).put("num_attention_heads", 5);
        assertThatThrownBy(() -> InstructBlipConfig.parse(b)).hasMessageContaining("not a multiple of num_attention_heads");
        ObjectNode c = fixture();
        c.remove("text_config");
        assertThatThrownBy(() -> InstructBlipConfig.parse(c)).hasMessageContaining("text_config is missing");
        ObjectNode d = fixture();
        ((ObjectNode) d.get("vision_config")).put("hidden_size", "big");
        assertThatThrownBy(() -> InstructBlipConfig.parse(d)).hasMessageContaining("vision_config.hidden_size is not an integer");
        ObjectNode e = fixture();
        e.put("model_type", "llava");
        assertThatThrownBy(() -> InstructBlipConfig.parse(e)).hasMessageContaining("expected 'instructblip'");
    }

    @Test
    void readsBlip2AsAQFormerWithoutTextInput() throws Exception {
        InstructBlipConfig blip2 = InstructBlipConfig.load(
                HfFixture.VICUNA.dir().resolveSibling("blip2-opt").resolve("checkpoint"));
        assertThat(blip2.qformerTextInput()).isFalse();
        assertThat(blip2.numQueryTokens()).isEqualTo(4);
        assertThat(blip2.vision().imageSize()).isEqualTo(40);
        assertThat(InstructBlipConfig.load(HfFixture.VICUNA.checkpoint()).qformerTextInput()).isTrue();
    }

    private static ObjectNode fixture() throws Exception {
        return (ObjectNode) JSON.readTree(HfFixture.VICUNA.checkpoint().resolve("config.json").toFile());
    }
}
