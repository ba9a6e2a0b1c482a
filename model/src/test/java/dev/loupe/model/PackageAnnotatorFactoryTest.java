package dev.loupe.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.ImageLimits;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.api.TaskDefaults;
import dev.loupe.model.instructblip.InstructBlipFamily;
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
}
