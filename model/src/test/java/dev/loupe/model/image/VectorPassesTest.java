package dev.loupe.model.image;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The vector resampling passes give the scalar passes' bytes (Pillow's, which the pixel-parity tests hold the scalar
 * ones to) for every filter, down- and upscales, odd and 1-pixel sizes, long and short windows, rows read from an
 * array or converted on demand; and under the build's test JVM flags they are the ones running.
 */
class VectorPassesTest {

    @Test
    void theVectorPassesRunUnderTheTestJvm() {
        assertThat(ModuleLayer.boot().findModule(SimdResampling.MODULE))
                .as("surefire's argLine passes --add-modules %s", SimdResampling.MODULE).isPresent();
        String why = SimdResampling.description();
        Assumptions.assumeFalse(why.contains("preferred vector"), why); // a CPU without AVX2: nothing to test here
        assertThat(SimdResampling.passes()).as(why).isNotNull();
        // the argLine's -Dloupe.resample.simd.scalar-passes=0: every resize of the tests, the pixel-parity ones
        // against Pillow's fixtures included, runs the vector passes
        assertThat(PillowResampler.DEFAULT_PASSES).as(why).isSameAs(SimdResampling.passes());
    }

    @Test
    void theProcessSwitchesToTheVectorPassesOnceTheyAreWarmedUpAndChecked() throws Exception {
        Assumptions.assumeTrue(SimdResampling.passes() != null, SimdResampling.description());
        SimdResampling.Warming warming = new SimdResampling.Warming(SimdResampling.passes(), 3);
        assertThat(warming.current()).isSameAs(PillowResampler.SCALAR);
        assertThat(warming.current()).isSameAs(PillowResampler.SCALAR); // the third call starts the warm-up
        assertThat(warming.warmUp(Duration.ofMinutes(5))).as("warm-up finished, bytes equal").isTrue();
        assertThat(warming.current()).isSameAs(SimdResampling.passes());
        RgbImage image = new RgbImage(64, 48, pixels(0, 64, 48, new Random(3)));
        assertThat(new PillowResampler(PillowResampler.Filter.BICUBIC).resize(image, 30, 20).rgb()).isEqualTo(
                new PillowResampler(PillowResampler.Filter.BICUBIC, PillowResampler.SCALAR).resize(image, 30, 20).rgb());
    }

    @Test
    void aWarmUpStartedAheadSwitchesBeforeAnyScalarPass() throws Exception {
        Assumptions.assumeTrue(SimdResampling.passes() != null, SimdResampling.description());
        SimdResampling.Warming warming = new SimdResampling.Warming(SimdResampling.passes(), 1_000_000);
        warming.startWarmUp();   // what PillowResampler.warmUpInBackground does for the process's passes
        assertThat(warming.warmUp(Duration.ofMinutes(5))).as("warm-up finished, bytes equal").isTrue();
        assertThat(warming.current()).as("no scalar pass was counted").isSameAs(SimdResampling.passes());
    }

    @ParameterizedTest(name = "{0}x{1} -> {2}x{3}")
    @CsvSource({
            "640, 480, 224, 224", "4000, 3000, 224, 224", "3000, 4000, 336, 336", "641, 479, 223, 225",
            "224, 224, 192, 192", "224, 224, 192, 144", "1, 1, 224, 224", "1, 1, 1, 2", "1, 7, 3, 1", "7, 1, 1, 7",
            "2, 2, 1000, 3", "50, 37, 333, 301", "17, 13, 16, 12", "300, 200, 1, 1", "5, 3, 5, 11", "5, 3, 11, 3",
            "333, 5, 7, 5", "6, 999, 6, 17", "1300, 2, 13, 1", "8, 8, 9, 9", "22, 16, 5, 16"})
    void theVectorPassesGiveTheScalarBytes(int inW, int inH, int outW, int outH) {
        assertSameBytes(inW, inH, outW, outH, new Random(31L * inW + inH));
    }

    @Test
    void randomSizesGiveTheScalarBytes() {
        Random random = new Random(7);
        for (int i = 0; i < 150; i++) {
            int inW = 1 + random.nextInt(random.nextBoolean() ? 40 : 700);
            int inH = 1 + random.nextInt(random.nextBoolean() ? 40 : 500);
            int outW = 1 + random.nextInt(random.nextBoolean() ? 40 : 400);
            int outH = 1 + random.nextInt(random.nextBoolean() ? 40 : 400);
            assertSameBytes(inW, inH, outW, outH, random);
        }
    }

    private static void assertSameBytes(int inW, int inH, int outW, int outH, Random random) {
        PillowResampler.Passes vector = SimdResampling.passes();
        Assumptions.assumeTrue(vector != null, SimdResampling.description()); // the first test says why
        for (PillowResampler.Filter filter : PillowResampler.Filter.values()) {
            for (int kind = 0; kind < 3; kind++) {
                byte[] rgb = pixels(kind, inW, inH, random);
                RgbImage image = new RgbImage(inW, inH, rgb);
                String what = filter + " " + inW + "x" + inH + " -> " + outW + "x" + outH + " kind " + kind;
                RgbImage expected = new PillowResampler(filter, PillowResampler.SCALAR).resize(image, outW, outH);
                assertThat(new PillowResampler(filter, vector).resize(image, outW, outH).rgb()).as(what)
                        .isEqualTo(expected.rgb());
                // rows converted on demand (a decoder's rows): the horizontal pass reads them one at a time
                assertThat(new PillowResampler(filter, vector).resize(onDemand(image), outW, outH).rgb())
                        .as(what + " on demand").isEqualTo(expected.rgb());
            }
        }
    }

    /** Noise, a 0/255 checkerboard (every window clips on both sides of the bicubic lobes), or a smooth ramp. */
    private static byte[] pixels(int kind, int w, int h, Random random) {
        byte[] rgb = new byte[3 * w * h];
        switch (kind) {
            case 0 -> random.nextBytes(rgb);
            case 1 -> {
                for (int i = 0; i < rgb.length; i++) {
                    int p = i / 3;
                    rgb[i] = (byte) (((p % w + p / w + i % 3) & 1) == 0 ? 0 : 255);
                }
            }
            default -> {
                for (int i = 0; i < rgb.length; i++) {
                    int p = i / 3;
                    rgb[i] = (byte) ((p % w) * 255 / Math.max(1, w - 1) + (i % 3) * (p / w) % 256);
                }
            }
        }
        return rgb;
    }

    private static RgbRows onDemand(RgbImage image) {
        return new RgbRows(image.width(), image.height()) {
            @Override
            void row(int y, byte[] dst, int offset) {
                System.arraycopy(image.rgb(), 3 * width * y, dst, offset, 3 * width);
            }
        };
    }
}
