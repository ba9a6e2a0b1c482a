package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad requests get an AnnotationException with a code, never a runtime crash. */
class ImageEncoderInputTest {
    @TempDir
    static Path modelDir;
    static ImageEncoder encoder;
    static ImageTensor image;

    @BeforeAll
    static void setUp() throws Exception {
        ImageEncoder.writeModels(HfFixture.VICUNA.checkpoint(), modelDir);
        encoder = ImageEncoder.open(modelDir, InstructBlipConfig.load(HfFixture.VICUNA.checkpoint()), 1);
        image = HfFixture.VICUNA.images("single.pixel_values", 32).get(0);
    }

    @AfterAll
    static void close() throws Exception {
        encoder.close();
    }

    @Test
    void rejectsWrongImageSize() {
        ImageTensor small = new ImageTensor(new float[3 * 16 * 16], 3, 16, 16);
        assertCode(() -> encoder.encode(List.of(small), new long[][] {{2, 3}}), ErrorCode.INVALID_REQUEST, "3x32x32");
    }

    @Test
    void rejectsTooLongInstruction() {
        assertCode(() -> encoder.encode(List.of(image), new long[][] {new long[65]}), ErrorCode.PROMPT_TOO_LONG,
                "allows 64");
        assertThat(encoder.maxQFormerTokens()).isEqualTo(64);
    }

    @Test
    void rejectsTokenOutsideVocabulary() {
        assertCode(() -> encoder.encode(List.of(image), new long[][] {{2, 201}}), ErrorCode.INVALID_REQUEST,
                "outside the vocabulary");
        assertCode(() -> encoder.encode(List.of(image), new long[][] {{-1}}), ErrorCode.INVALID_REQUEST,
                "outside the vocabulary");
    }

    @Test
    void rejectsMismatchedRows() {
        assertCode(() -> encoder.encode(List.of(image, image), new long[][] {{2, 3}}), ErrorCode.INVALID_REQUEST,
                "2 images and 1 rows");
        assertCode(() -> encoder.encode(List.of(), new long[0][]), ErrorCode.INVALID_REQUEST, "0 images");
    }

    @Test
    void acceptsAnEmptyInstructionAndTheFullLength() throws Exception {
        float[][][] out = encoder.encode(List.of(image, image), new long[][] {{}, new long[64]});
        assertThat(out).hasDimensions(2, 8);
        for (float[][] row : out) {
            for (float[] t : row) {
                for (float f : t) {
                    assertThat(Float.isFinite(f)).isTrue();
                }
            }
        }
        assertThat(encoder.encode(List.of(image), new long[][] {{}})[0][3])
                .containsExactly(out[0][3], org.assertj.core.data.Offset.offset(1e-5f));
    }

    private static void assertCode(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, ErrorCode code,
                                   String message) {
        assertThatThrownBy(call).isInstanceOf(AnnotationException.class).hasMessageContaining(message)
                .satisfies(e -> assertThat(((AnnotationException) e).code()).isEqualTo(code));
    }
}
