package dev.loupe.model.llava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.Models;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What LLaVA configs are understood, and the messages for the ones that are not. */
class LlavaConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode fixtureConfig() throws Exception {
        return (ObjectNode) JSON.readTree(HfFixture.LLAVA.checkpoint().resolve("config.json").toFile());
    }

    @Test
    void theFixtureSelectsThePenultimateLayerWithoutTheClassToken() throws Exception {
        LlavaConfig c = LlavaConfig.fromJson(fixtureConfig());
        assertThat(c.featureLayers()).containsExactly(-2);
        assertThat(c.vision().hiddenStateIndex(-2)).isEqualTo(2);
        assertThat(c.dropClassToken()).isTrue();
        assertThat(c.imageSeqLength()).isEqualTo(16);
        assertThat(c.featureSize()).isEqualTo(48);
        assertThat(c.imageTokenIndex()).isEqualTo(385);
    }

    @Test
    void severalFeatureLayersAndTheFullStrategyWiden() throws Exception {
        ObjectNode json = fixtureConfig();
        json.putArray("vision_feature_layer").add(-2).add(-1);
        json.put("vision_feature_select_strategy", "full");
        LlavaConfig c = LlavaConfig.fromJson(json);
        assertThat(c.featureSize()).isEqualTo(96);
        assertThat(c.imageSeqLength()).isEqualTo(17);
    }

    @Test
    void unsupportedPartsAreNamed() throws Exception {
        ObjectNode siglip = fixtureConfig();
        ((ObjectNode) siglip.get("vision_config")).put("model_type", "siglip_vision_model");
        assertThatThrownBy(() -> LlavaConfig.fromJson(siglip)).hasMessageContaining("siglip_vision_model")
                .hasMessageContaining("clip_vision_model");
        ObjectNode mistral = fixtureConfig();
        ((ObjectNode) mistral.get("text_config")).put("model_type", "mistral");
        assertThatThrownBy(() -> LlavaConfig.fromJson(mistral)).hasMessageContaining("text_config.model_type 'mistral'");
        ObjectNode layer = fixtureConfig();
        layer.put("vision_feature_layer", -9);
        assertThatThrownBy(() -> LlavaConfig.fromJson(layer)).hasMessageContaining("vision_feature_layer -9");
        ObjectNode strategy = fixtureConfig();
        strategy.put("vision_feature_select_strategy", "cls_patch");
        assertThatThrownBy(() -> LlavaConfig.fromJson(strategy)).hasMessageContaining("cls_patch");
    }

    @Test
    void anUnknownArchitectureListsWhatIsSupported(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"idefics2\"}");
        assertThatThrownBy(() -> Models.convert(dir, dir.resolve("out")))
                .hasMessageContaining("not supported").hasMessageContaining("InstructBLIP")
                .hasMessageContaining("LLaVA-1.5");
    }
}
