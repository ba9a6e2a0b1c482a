package dev.loupe.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.ImageLimits;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.TaskDefaults;
import dev.loupe.model.instructblip.InstructBlipFamily;
import dev.loupe.model.testing.HfFixture;
import dev.loupe.model.tools.RandomImages;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class PackageAnnotatorFactoryTest {
    private static final Path PKG = Path.of("/models/pkg");

    @Test
    void aCudaFactoryIsBoundToTheGpuItIsGivenAndACpuFactoryIgnoresIt() {
        PackageAnnotatorFactory cuda = new PackageAnnotatorFactory(InstructBlipFamily.INSTANCE, PKG,
                RuntimeOptions.cpu(2).withDevice(RuntimeOptions.Device.CUDA), ImageLimits.DEFAULT, TaskDefaults.fallback());
        AnnotatorFactory onGpu3 = cuda.forDevice(3);
        assertThat(((PackageAnnotatorFactory) onGpu3).options().deviceIndex()).isEqualTo(3);
        assertThat(((PackageAnnotatorFactory) onGpu3).runtimeKey()).isNotEqualTo(cuda.runtimeKey());
        assertThat(cuda.forDevice(0)).isSameAs(cuda);

        PackageAnnotatorFactory cpu = new PackageAnnotatorFactory(InstructBlipFamily.INSTANCE, PKG, RuntimeOptions.cpu(2),
                ImageLimits.DEFAULT, TaskDefaults.fallback());
        assertThat(cpu.forDevice(3)).isSameAs(cpu);
    }

    @Test
    void thePreprocessorDecodesJpegsAtAReducedScaleOnlyWhenTheLimitsSaySo() throws Exception {
        byte[] photo = RandomImages.jpeg(3, 1600, 1200, 0.9f);
        Path checkpoint = HfFixture.VICUNA.checkpoint();   // holds the BLIP preprocessor_config.json
        float[] exact = new PackageAnnotatorFactory(InstructBlipFamily.INSTANCE, checkpoint, RuntimeOptions.cpu(1),
                ImageLimits.DEFAULT, TaskDefaults.fallback()).createPreprocessor().preprocess(photo).chw();
        float[] reduced = new PackageAnnotatorFactory(InstructBlipFamily.INSTANCE, checkpoint, RuntimeOptions.cpu(1),
                ImageLimits.DEFAULT.withFastJpegDownscale(true), TaskDefaults.fallback())
                .createPreprocessor().preprocess(photo).chw();
        float[] exactAgain = new PackageAnnotatorFactory(InstructBlipFamily.INSTANCE, checkpoint, RuntimeOptions.cpu(1),
                ImageLimits.DEFAULT.withFastJpegDownscale(false), TaskDefaults.fallback())
                .createPreprocessor().preprocess(photo).chw();
        assertThat(reduced).hasSameSizeAs(exact);
        assertThat(reduced).isNotEqualTo(exact);
        assertThat(exactAgain).isEqualTo(exact);
    }
}
