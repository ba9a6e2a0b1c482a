package dev.loupe.jobs.soak;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.jobs.soak.SoakInputs.Kind;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.serde.AvroDeserializer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import javax.imageio.ImageIO;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The soak run's inputs and its tally, without a job. */
class SoakInputsTest {

    @TempDir
    Path dir;

    @Test
    void badRequestsAreTheGivenFractionSpreadOverEveryBadKind() throws Exception {
        SoakInputs inputs = SoakInputs.prepare(1000, 0.05, 4, dir, 1);
        Map<Kind, Integer> kinds = new EnumMap<>(Kind.class);
        for (int i = 0; i < inputs.count(); i++) {
            kinds.merge(inputs.kind(i), 1, Integer::sum);
            assertThat(inputs.value(i)).isNotEmpty();
        }
        assertThat(inputs.badCount()).isEqualTo(50);
        assertThat(kinds.entrySet().stream().filter(e -> !e.getKey().good()).mapToInt(Map.Entry::getValue).sum())
                .isEqualTo(50);
        assertThat(kinds.keySet()).containsExactlyInAnyOrder(Kind.values());
    }

    @Test
    void idsAndUndecodableValuesGiveBackTheirIndex() throws Exception {
        SoakInputs inputs = SoakInputs.prepare(200, 0.5, 4, dir, 1);
        int undecodable = -1;
        for (int i = 0; i < inputs.count() && undecodable < 0; i++) {
            if (inputs.kind(i) == Kind.UNDECODABLE) {
                undecodable = i;
            }
        }
        assertThat(undecodable).isNotNegative();
        assertThat(SoakInputs.indexOfUndecodable(inputs.value(undecodable))).isEqualTo(undecodable);
        assertThat(SoakInputs.index(SoakInputs.id(123))).isEqualTo(123);
        assertThat(SoakInputs.index("other-1")).isEqualTo(-1);
        assertThat(SoakInputs.indexOfUndecodable(new byte[] {1, 2, 3})).isEqualTo(-1);
    }

    @Test
    void aWarmUpRequestIsItsGoodRequestsWorkUnderAnIdNoMeasuredRequestHas() throws Exception {
        SoakInputs inputs = SoakInputs.prepare(40, 0.25, SoakInputs.Work.upTo(6).withMinNewTokens(6), dir, 1);
        AvroDeserializer<AnnotationRequest> requests = new AvroDeserializer<>(AnnotationRequest.class);
        for (int i = 0; i < 8; i++) {
            AnnotationRequest warmup = requests.deserialize(inputs.warmupValue(i));
            assertThat(warmup.getId()).isEqualTo(SoakInputs.warmupId(i));
            assertThat(SoakInputs.isWarmupId(warmup.getId())).isTrue();
            // counted as foreign when seen in the measured run: no measured request has its id
            assertThat(SoakInputs.index(warmup.getId())).isEqualTo(-1);
            assertThat(SoakInputs.isWarmupId(SoakInputs.id(i))).isFalse();
            // a bad request's warm-up twin is good: the same task, tokens and image as a good request i would have
            assertThat(warmup.getTask()).isEqualTo(SoakInputs.ALL_TASKS.get(i % SoakInputs.ALL_TASKS.size()));
            assertThat(warmup.getGeneration().getMaxNewTokens()).isEqualTo(6);
            assertThat(warmup.getGeneration().getMinNewTokens()).isEqualTo(6);
            if (inputs.kind(i).good()) {
                AnnotationRequest measured = requests.deserialize(inputs.value(i));
                measured.setId(warmup.getId());
                assertThat(warmup).isEqualTo(measured);
            } else {
                assertThat(warmup.getImage().getBytes() != null || warmup.getImage().getUri().contains("image-"))
                        .isTrue();
            }
        }
    }

    @Test
    void theTallyCountsDuplicatesLostAndWrongOutcomes() throws Exception {
        SoakInputs inputs = SoakInputs.prepare(40, 0.25, 4, dir, 1);
        int bad = -1;
        for (int i = 0; i < inputs.count() && bad < 0; i++) {
            if (!inputs.kind(i).good()) {
                bad = i;
            }
        }
        SoakTally tally = new SoakTally(inputs);
        for (int i = 0; i < inputs.count(); i++) {
            if (i == 0 || i == bad) {
                continue; // 0 (good) lost; the bad one gets a result below instead of a dead letter
            }
            if (inputs.kind(i).good()) {
                tally.result(i);
            } else {
                tally.deadLetter(i, "IMAGE_CORRUPT");
            }
        }
        tally.result(bad);
        tally.result(5);
        tally.result(-1);
        SoakTally.Counts counts = tally.counts();
        assertThat(counts.lost()).isEqualTo(1);
        assertThat(counts.duplicates()).isEqualTo(1);
        assertThat(counts.wrongOutcome()).isEqualTo(1);
        assertThat(counts.foreign()).isEqualTo(1);
        assertThat(counts.exact()).isFalse();
        assertThat(tally.complete()).isFalse();
        assertThat(tally.accounted()).isEqualTo(39);
    }

    @Test
    void goodRequestsAskForTheGivenWorkOnImagesOfTheGivenSize() throws Exception {
        SoakInputs inputs = SoakInputs.prepare(8, 0, SoakInputs.Work.upTo(20).withMinNewTokens(20).withImageSize(64, 48),
                dir, 1);
        AvroDeserializer<AnnotationRequest> requests = new AvroDeserializer<>(AnnotationRequest.class);
        for (int i = 0; i < inputs.count(); i++) {
            AnnotationRequest request = requests.deserialize(inputs.value(i));
            assertThat(request.getGeneration().getMinNewTokens()).isEqualTo(20);
            assertThat(request.getGeneration().getMaxNewTokens()).isEqualTo(20);
            byte[] image = request.getImage().getBytes() != null
                    ? bytes(request.getImage().getBytes())
                    : Files.readAllBytes(Path.of(URI.create(request.getImage().getUri())));
            BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(image));
            assertThat(decoded.getWidth()).isEqualTo(64);
            assertThat(decoded.getHeight()).isEqualTo(48);
        }
        assertThatThrownBy(() -> SoakInputs.Work.upTo(4).withMinNewTokens(5)).hasMessageContaining("min new tokens");
        assertThatThrownBy(() -> SoakInputs.Work.upTo(4).withImageSize(64, 0)).hasMessageContaining("image size");
    }

    @Test
    void withCaptionsOnlyOverDistinctImagesEveryRequestIsACaptionOfAnImageNoOtherRequestHas() throws Exception {
        int count = 80;   // more than the images held in memory: the later ones are read back from their files
        SoakInputs inputs = SoakInputs.prepare(count, 0, SoakInputs.Work.upTo(4).withImageSize(32, 24)
                .withImageFormat(SoakInputs.ImageFormat.JPEG).withTasks(java.util.List.of(dev.loupe.schemas.Task.CAPTION))
                .withDistinctImages(count), dir, 1);
        AvroDeserializer<AnnotationRequest> requests = new AvroDeserializer<>(AnnotationRequest.class);
        java.util.Set<String> images = new java.util.HashSet<>();
        for (int i = 0; i < inputs.count(); i++) {
            AnnotationRequest request = requests.deserialize(inputs.value(i));
            assertThat(request.getTask()).as("request %d", i).isEqualTo(dev.loupe.schemas.Task.CAPTION);
            byte[] image = request.getImage().getBytes() != null
                    ? bytes(request.getImage().getBytes())
                    : Files.readAllBytes(Path.of(URI.create(request.getImage().getUri())));
            assertThat(ImageIO.read(new ByteArrayInputStream(image)).getWidth()).isEqualTo(32);
            images.add(java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(image)));
        }
        assertThat(images).hasSize(count);
        // the default: every task in turn over eight images
        SoakInputs mixed = SoakInputs.prepare(16, 0, 4, dir.resolve("mixed"), 1);
        java.util.Set<String> mixedImages = new java.util.HashSet<>();
        java.util.Set<dev.loupe.schemas.Task> tasks = java.util.EnumSet.noneOf(dev.loupe.schemas.Task.class);
        for (int i = 0; i < mixed.count(); i++) {
            AnnotationRequest request = requests.deserialize(mixed.value(i));
            tasks.add(request.getTask());
            byte[] image = request.getImage().getBytes() != null
                    ? bytes(request.getImage().getBytes())
                    : Files.readAllBytes(Path.of(URI.create(request.getImage().getUri())));
            mixedImages.add(java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(image)));
        }
        assertThat(tasks).containsExactlyInAnyOrder(dev.loupe.schemas.Task.values());
        assertThat(mixedImages).hasSize(SoakInputs.DEFAULT_DISTINCT_IMAGES);
        assertThatThrownBy(() -> SoakInputs.Work.upTo(4).withDistinctImages(0)).hasMessageContaining("distinct images");
        assertThatThrownBy(() -> SoakInputs.Work.upTo(4).withTasks(java.util.List.of())).hasMessageContaining("tasks");
    }

    @Test
    void jpegImagesAreSentInlineAndByReferenceAsJpegsAndPngImagesAsPngs() throws Exception {
        SoakInputs.Work work = SoakInputs.Work.upTo(4).withImageSize(64, 48);
        for (SoakInputs.ImageFormat format : SoakInputs.ImageFormat.values()) {
            SoakInputs inputs = SoakInputs.prepare(8, 0, work.withImageFormat(format), dir.resolve(format.name()), 1);
            AvroDeserializer<AnnotationRequest> requests = new AvroDeserializer<>(AnnotationRequest.class);
            int inline = 0;
            int byReference = 0;
            for (int i = 0; i < inputs.count(); i++) {
                AnnotationRequest request = requests.deserialize(inputs.value(i));
                byte[] image;
                if (request.getImage().getBytes() != null) {
                    image = bytes(request.getImage().getBytes());
                    inline++;
                } else {
                    assertThat(request.getImage().getUri()).endsWith("." + format.extension());
                    image = Files.readAllBytes(Path.of(URI.create(request.getImage().getUri())));
                    byReference++;
                }
                assertThat(ImageIO.getImageReaders(ImageIO.createImageInputStream(new ByteArrayInputStream(image)))
                        .next().getFormatName().toLowerCase(java.util.Locale.ROOT))
                        .as("request %d", i).isEqualTo(format == SoakInputs.ImageFormat.JPEG ? "jpeg" : "png");
                assertThat(ImageIO.read(new ByteArrayInputStream(image)).getWidth()).isEqualTo(64);
            }
            assertThat(inline).isEqualTo(6);
            assertThat(byReference).isEqualTo(2);
        }
        assertThat(SoakInputs.Work.upTo(4).imageFormat()).isEqualTo(SoakInputs.ImageFormat.PNG);
    }

    @Test
    void underALengthMixRequestsAskForTheCountsInTurnAndLatencyIsReportedPerCount() throws Exception {
        SoakInputs inputs = SoakInputs.prepare(24, 0, SoakInputs.Work.upTo(8), dir, 1)
                .withLengthMix(java.util.List.of(4, 8, 32, 64));
        AvroDeserializer<AnnotationRequest> requests = new AvroDeserializer<>(AnnotationRequest.class);
        int[] mix = {4, 8, 32, 64};
        SoakLatencies latencies = new SoakLatencies(inputs);
        for (int i = 0; i < inputs.count(); i++) {
            AnnotationRequest request = requests.deserialize(inputs.value(i));
            assertThat(request.getGeneration().getMinNewTokens()).as("request %d", i).isEqualTo(mix[i % 4]);
            assertThat(request.getGeneration().getMaxNewTokens()).as("request %d", i).isEqualTo(mix[i % 4]);
            assertThat(inputs.lengthLabel(i)).isEqualTo(request.getTask() == dev.loupe.schemas.Task.RANK ? "rank"
                    : String.valueOf(mix[i % 4]));
            latencies.written(i, 1000);
            latencies.result(i, 1000 + 10L * i, 3L * i, 1000 + 8L * i);   // handed to the sink 2i ms before its read
            latencies.result(i, 99_999, 99_999, 0);   // a duplicate does not count
        }
        var byLength = latencies.byLength();
        assertThat(byLength.keySet()).containsExactly("4", "8", "32", "64", "rank");
        java.util.List<Long> fours = new java.util.ArrayList<>();
        for (int i = 0; i < inputs.count(); i++) {
            if (inputs.lengthLabel(i).equals("4")) {
                fours.add(10L * i);
            }
        }
        assertThat(byLength.get("4").count()).isEqualTo(fours.size());
        assertThat(byLength.get("4").p50()).isEqualTo(fours.get((fours.size() + 1) / 2 - 1));
        assertThat(byLength.get("4").max()).isEqualTo(fours.get(fours.size() - 1));
        // the time in the pipeline's stages, per length alike
        var served = latencies.servedByLength();
        assertThat(served.keySet()).containsExactly("4", "8", "32", "64", "rank");
        assertThat(served.get("4").count()).isEqualTo(fours.size());
        assertThat(served.get("4").p50()).isEqualTo(fours.get((fours.size() + 1) / 2 - 1) / 10 * 3);
        assertThat(served.get("4").max()).isEqualTo(fours.get(fours.size() - 1) / 10 * 3);
        // and the wait from the sink to the committed read, the part exactly-once output adds
        var commitWait = latencies.commitWaitByLength();
        assertThat(commitWait.keySet()).containsExactly("4", "8", "32", "64", "rank");
        assertThat(commitWait.get("4").p50()).isEqualTo(fours.get((fours.size() + 1) / 2 - 1) / 10 * 2);
        assertThat(commitWait.get("4").max()).isEqualTo(fours.get(fours.size() - 1) / 10 * 2);
        assertThatThrownBy(() -> inputs.withLengthMix(java.util.List.of(4, 0))).hasMessageContaining("at least 1");
    }

    @Test
    void percentilesAreNearestRank() {
        java.util.List<Long> values = new java.util.ArrayList<>();
        for (long v = 100; v >= 1; v--) {
            values.add(v);
        }
        SoakLatencies.Percentiles p = SoakLatencies.percentiles(values);
        assertThat(p).isEqualTo(new SoakLatencies.Percentiles(100, 50, 99, 100));
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }
}
