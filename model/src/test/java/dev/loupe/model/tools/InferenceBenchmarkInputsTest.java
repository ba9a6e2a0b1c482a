package dev.loupe.model.tools;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.model.image.BlipImageProcessor;
import dev.loupe.model.image.ImageDecoder;
import dev.loupe.model.image.PillowResampler;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class InferenceBenchmarkInputsTest {

    @Test
    void preparingKeepsThePreprocessedImagesAndNoEncodedOne() throws Exception {
        BlipImageProcessor preprocessor = new BlipImageProcessor(new ImageDecoder(), 32, 32, true,
                PillowResampler.Filter.BICUBIC, true, 1 / 255.0, true, new double[] {0.5, 0.5, 0.5},
                new double[] {0.5, 0.5, 0.5});
        List<WeakReference<byte[]>> handedOut = new ArrayList<>();
        List<Integer> asked = new ArrayList<>();
        InferenceBenchmark bench = InferenceBenchmark.prepare(null, preprocessor, 3, i -> {
            asked.add(i);
            byte[] png = RandomImages.png(7 + i, 64, 48);
            handedOut.add(new WeakReference<>(png));
            return png;
        });

        assertThat(asked).containsExactly(0, 1, 2);
        assertThat(bench.preparation().images()).isEqualTo(3);
        assertThat(bench.preparation().preprocessMsPerImage()).isPositive();
        for (int attempt = 0; attempt < 20 && handedOut.stream().anyMatch(r -> r.get() != null); attempt++) {
            System.gc();
            Thread.sleep(10);
        }
        assertThat(handedOut).allSatisfy(r -> assertThat(r.get()).as("an encoded image still held").isNull());
    }
}
