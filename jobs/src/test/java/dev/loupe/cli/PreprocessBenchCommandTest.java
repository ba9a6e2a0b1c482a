package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.image.ImageDecoder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code loupe bench preprocess} on small images: which cases it reports and their tensor shapes (never timings). */
class PreprocessBenchCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void reportsEveryCaseWithItsTensorShape() throws Exception {
        CliRun r = CliRun.of("bench", "preprocess", "--sizes", "64x48,500x400", "--warmup", "0", "--iterations", "1",
                "--json");

        assertThat(r.status()).as(r.out() + r.err()).isZero();
        JsonNode cases = JSON.readTree(r.out()).path("cases");
        // Per size: JPEG exact + reduced + reduced with the library's own 1/8 with each JPEG decoder (libjpeg-turbo
        // where installed, and ImageIO) and PNG exact, each to BLIP 224 and CLIP 336.
        String standard = new ImageDecoder().jpegDecoder();
        int jpegDecoders = standard.equals("imageio") ? 1 : 2;
        assertThat(JSON.readTree(r.out()).path("jpeg_decoder").asText()).contains("JPEG decoding: ");
        assertThat(cases).hasSize(2 * (3 * jpegDecoders + 1) * 2);
        List<String> seen = new ArrayList<>();
        for (JsonNode c : cases) {
            seen.add(c.path("width").asInt() + " " + c.path("format").asText() + " " + c.path("processor").asText()
                    + " " + c.path("decoder").asText() + " " + c.path("path").asText());
            int side = c.path("processor").asText().equals("blip-224") ? 224 : 336;
            assertThat(c.path("shape").toString()).isEqualTo("[3," + side + "," + side + "]");
            assertThat(c.path("encoded_bytes").asInt()).isPositive();
            assertThat(c.path("ms_per_image").asDouble()).isPositive();
            assertThat(c.path("cpu_ms_per_image").asDouble()).isPositive();
            if (c.path("path").asText().equals("exact")) {
                assertThat(c.path("max_level_diff").asDouble()).isZero();
            } else {
                assertThat(c.path("max_level_diff").asDouble()).isGreaterThanOrEqualTo(c.path("mean_level_diff").asDouble());
            }
        }
        assertThat(seen).contains("64 jpeg blip-224 " + standard + " exact", "64 jpeg clip-336 imageio reduced",
                "500 png clip-336 imageio exact", "500 jpeg blip-224 " + standard + " reduced",
                "500 jpeg clip-336 " + standard + " reduced-library-1/8");
        assertThat(seen).doesNotContain("64 png blip-224 imageio reduced");
        // 64x48 is below both targets, so its reduced-scale path decodes at full size: the same tensor.
        for (JsonNode c : cases) {
            if (c.path("width").asInt() == 64) {
                assertThat(c.path("max_level_diff").asDouble()).as(c.toString()).isZero();
            }
        }
    }

    @Test
    void refusesABadSize() {
        CliRun r = CliRun.of("bench", "preprocess", "--sizes", "640by480");
        assertThat(r.status()).isNotZero();
        assertThat(r.err()).contains("WIDTHxHEIGHT");
    }
}
