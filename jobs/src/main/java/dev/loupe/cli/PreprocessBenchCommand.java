package dev.loupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.image.ImageDecoder;
import dev.loupe.model.tools.PreprocessBenchmark;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code loupe bench preprocess}: milliseconds per image for decode + resize + normalise on one thread, on generated
 * JPEG (quality 90) and PNG images, to a BLIP 224 and a CLIP 336 tensor, exact and with reduced-scale JPEG decoding.
 */
@Command(name = "preprocess", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Image preprocessing speed on one thread: generated photo-like JPEG (quality 90) and PNG images "
                + "decoded, resized and normalised to a BLIP 224 and a CLIP 336 tensor; ms/image on the exact "
                + "(Pillow-parity) path and, for JPEGs, with reduced-scale decoding (and its difference from exact; "
                + "path reduced-library-1/8: 1/8-scale decodes by the JPEG library instead of Loupe's Java decoder), "
                + "with libjpeg-turbo (where libturbojpeg0 is installed) and with ImageIO side by side.")
public final class PreprocessBenchCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--sizes", split = ",", defaultValue = "640x480,4000x3000", paramLabel = "WxH",
            converter = ImageSize.Converter.class,
            description = "Image sizes. Default ${DEFAULT-VALUE}.")
    List<ImageSize> sizes;

    @Option(names = "--warmup", defaultValue = "200",
            description = "Unmeasured images per case, all cases warmed up before any is measured (fewer for images "
                    + "over 640x480, in proportion). Default ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--iterations", defaultValue = "50",
            description = "Measured images per case (fewer for images over 640x480, in proportion, at least 5). "
                    + "Default ${DEFAULT-VALUE}.")
    int iterations;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the generated images. Default ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--save-images", paramLabel = "DIR",
            description = "Also write the generated images there (WxH.jpg, WxH.png), e.g. for docs/bench/pillow_preprocess.py.")
    Path saveImages;

    @Option(names = "--json", description = "Print one JSON object instead of the table.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        List<int[]> parsed = new ArrayList<>();
        for (ImageSize size : sizes) {
            parsed.add(new int[]{size.width(), size.height()});
        }
        PreprocessBenchmark.Settings settings;
        try {
            settings = new PreprocessBenchmark.Settings(parsed, warmup, iterations, seed, saveImages);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        List<PreprocessBenchmark.Result> results = PreprocessBenchmark.run(settings);
        PrintStream out = System.out;
        if (json) {
            ObjectNode o = JSON.createObjectNode();
            o.put("threads", 1);
            o.put("warmup", warmup);
            o.put("iterations", iterations);
            o.put("jpeg_decoder", ImageDecoder.activeJpegDecoder());
            ArrayNode cases = o.putArray("cases");
            for (PreprocessBenchmark.Result r : results) {
                ObjectNode c = cases.addObject();
                c.put("format", r.format());
                c.put("width", r.width());
                c.put("height", r.height());
                c.put("encoded_bytes", r.encodedBytes());
                c.put("processor", r.processor());
                c.put("decoder", r.decoder());
                c.put("path", r.path());
                c.put("ms_per_image", r.meanMs());
                c.put("images", r.iterations());
                c.put("min_ms", r.minMs());
                c.put("cpu_ms_per_image", r.cpuMs());
                c.put("max_level_diff", r.maxLevelDiff());
                c.put("mean_level_diff", r.meanLevelDiff());
                ArrayNode shape = c.putArray("shape");
                for (int d : r.shape()) {
                    shape.add(d);
                }
            }
            out.println(JSON.writeValueAsString(o));
            return 0;
        }
        out.printf(Locale.ROOT, "one thread, %d warm-up + %d measured images per 640x480 case (fewer for larger)%n%s%n",
                warmup, iterations, ImageDecoder.activeJpegDecoder());
        out.println("| image | bytes | tensor | decoder | path | ms/image | min ms | CPU ms/image | max / mean diff from exact "
                + "(0..255 levels) |");
        out.println("| --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: |");
        for (PreprocessBenchmark.Result r : results) {
            out.printf(Locale.ROOT, "| %s %dx%d | %d | %s %dx%dx%d | %s | %s | %.2f | %.2f | %.2f | %.1f / %.2f |%n",
                    r.format(),
                    r.width(), r.height(), r.encodedBytes(), r.processor(), r.shape()[0], r.shape()[1], r.shape()[2],
                    r.decoder(), r.path(), r.meanMs(), r.minMs(), r.cpuMs(), r.maxLevelDiff(), r.meanLevelDiff());
        }
        return 0;
    }
}
