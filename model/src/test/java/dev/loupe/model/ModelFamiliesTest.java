package dev.loupe.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.family.ExtraTestFamily;
import dev.loupe.model.family.ModelFamily;
import dev.loupe.model.instructblip.InstructBlipFamily;
import dev.loupe.model.instructblip.InstructBlipPackage;
import dev.loupe.model.llava.LlavaFamily;
import dev.loupe.model.llava.LlavaPackage;
import dev.loupe.model.pkg.Manifest;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelFamiliesTest {
    private static final Path DIR = Path.of("/models/x");
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theBuiltInsComeFirstThenTheRegisteredFamilies() {
        assertThat(ModelFamilies.all()).extracting(ModelFamily::id)
                .containsExactly("instructblip", "llava", "extra-test");
    }

    @Test
    void aCheckpointIsRecognisedByItsModelType() throws Exception {
        assertThat(ModelFamilies.forCheckpoint(DIR, config("instructblip"))).isSameAs(InstructBlipFamily.INSTANCE);
        assertThat(ModelFamilies.forCheckpoint(DIR, config("blip-2"))).isSameAs(InstructBlipFamily.INSTANCE);
        assertThat(ModelFamilies.forCheckpoint(DIR, config("llava"))).isSameAs(LlavaFamily.INSTANCE);
        assertThat(ModelFamilies.forCheckpoint(DIR, config("extra-test"))).isInstanceOf(ExtraTestFamily.class);
        assertThatThrownBy(() -> ModelFamilies.forCheckpoint(DIR, config("idefics2")))
                .hasMessageContaining("the model in " + DIR + " is not supported by this build")
                .hasMessageContaining("BLIP-2 with OPT or Flan-T5").hasMessageContaining("LLaVA-1.5")
                .hasMessageContaining("the extra test family");
    }

    @Test
    void aPackageIsRecognisedByItsManifestFamily() throws Exception {
        for (String family : InstructBlipPackage.FAMILIES) {
            assertThat(ModelFamilies.forPackage(DIR, manifest(family))).isSameAs(InstructBlipFamily.INSTANCE);
        }
        assertThat(ModelFamilies.forPackage(DIR, manifest(LlavaPackage.FAMILY))).isSameAs(LlavaFamily.INSTANCE);
        assertThat(ModelFamilies.forPackage(DIR, manifest(ExtraTestFamily.FAMILY))).isInstanceOf(ExtraTestFamily.class);
        assertThatThrownBy(() -> ModelFamilies.forPackage(DIR, manifest("idefics2")))
                .hasMessageContaining("model family 'idefics2' of " + DIR + " is not supported by this build")
                .hasMessageContaining("blip2-opt").hasMessageContaining("llava-llama");
    }

    private static JsonNode config(String modelType) {
        return JSON.createObjectNode().put("model_type", modelType);
    }

    private static Manifest manifest(String family) {
        return new Manifest(Manifest.FORMAT, Manifest.FORMAT_VERSION, family, "x", "fp32", null, Map.of(), Map.of(),
                null, null, null, null, null);
    }
}
