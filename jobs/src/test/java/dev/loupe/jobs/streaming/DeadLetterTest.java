package dev.loupe.jobs.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.flink.LoupeOptions;
import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import dev.loupe.jobs.testing.Requests;
import dev.loupe.jobs.testing.RunningJob;
import dev.loupe.jobs.testing.Topics;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.Task;
import dev.loupe.schemas.serde.AvroSerializer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every kind of bad request becomes exactly one dead letter with its code; the good ones beside it still get results. */
@Tag("slow")
class DeadLetterTest {

    @TempDir
    Path dir;

    @Test
    void badRequestsBecomeOneDeadLetterEachAndGoodOnesStillGetResults() throws Exception {
        Path root = Files.createDirectories(dir.resolve("images"));
        Path secret = Files.write(dir.resolve("secret.png"), Requests.image(4, 4, "png", 1));
        Files.write(root.resolve("good.png"), Requests.image(5, 5, "png", 2));
        Files.write(root.resolve("empty.jpg"), new byte[0]);
        byte[] jpeg = Requests.image(32, 32, "jpg", 3);
        Files.write(root.resolve("truncated.jpg"), Arrays.copyOf(jpeg, 20));
        Files.write(root.resolve("notes.jpg"), "just some text, not an image".getBytes(StandardCharsets.UTF_8));
        Files.write(root.resolve("huge.png"), Requests.image(80, 80, "png", 4)); // 6400 pixels > the test limit 4096

        try (RunningJob job = new RunningJob()) {
            job.conf.set(LoupeOptions.FETCH_FILE_ROOTS, List.of(root.toString()));
            job.start(EchoAnnotatorFactory.fast(job.name));

            Map<String, String> expectedCodes = new LinkedHashMap<>();
            expectedCodes.put("missing", "IMAGE_NOT_FOUND");
            expectedCodes.put("empty", "IMAGE_EMPTY");
            expectedCodes.put("truncated", "IMAGE_CORRUPT");
            expectedCodes.put("text", "IMAGE_UNSUPPORTED_FORMAT");
            expectedCodes.put("huge", "IMAGE_TOO_MANY_PIXELS");
            expectedCodes.put("outside", "PATH_NOT_ALLOWED");
            expectedCodes.put("dotdot", "PATH_NOT_ALLOWED");
            List<AnnotationRequest> requests = List.of(
                    Requests.inline("good-inline", Task.CAPTION, Requests.image(6, 6, "png", 5)),
                    Requests.file("good-file", root.resolve("good.png").toUri().toString()),
                    Requests.file("missing", root.resolve("nope.png").toUri().toString()),
                    Requests.file("empty", root.resolve("empty.jpg").toUri().toString()),
                    Requests.file("truncated", root.resolve("truncated.jpg").toUri().toString()),
                    Requests.file("text", root.resolve("notes.jpg").toUri().toString()),
                    Requests.file("huge", root.resolve("huge.png").toUri().toString()),
                    Requests.file("outside", secret.toUri().toString()),
                    Requests.file("dotdot", "file://" + root + "/../secret.png"));
            AvroSerializer<AnnotationRequest> serializer = new AvroSerializer<>(AnnotationRequest.class);
            byte[] valid = serializer.serialize(requests.get(0));
            job.topics.sendRaw(job.settings().requestsTopic(), List.of(
                    new byte[] {(byte) 0xff, 0x01, 0x02}, Arrays.copyOf(valid, valid.length / 2)));
            job.topics.sendRequests(job.settings().requestsTopic(), requests);

            List<AnnotationFailure> failures = job.topics.readCommitted(
                    List.of(job.settings().deadLetterTopic()), expectedCodes.size() + 2, Topics::failure);
            List<AnnotationResult> results = job.topics.readCommitted(
                    List.of(job.settings().resultsTopic()), 2, Topics::result);

            assertThat(results).extracting(AnnotationResult::getId).containsExactlyInAnyOrder("good-inline", "good-file");
            Map<String, String> byId = failures.stream().filter(f -> f.getId() != null)
                    .collect(Collectors.toMap(AnnotationFailure::getId, AnnotationFailure::getErrorCode));
            assertThat(byId).isEqualTo(expectedCodes);
            List<AnnotationFailure> undecodable = failures.stream().filter(f -> f.getId() == null).toList();
            assertThat(undecodable).hasSize(2).allSatisfy(f -> {
                assertThat(f.getErrorCode()).isEqualTo("UNDECODABLE_RECORD");
                assertThat(f.getRawInput()).isNotNull();
            });
            assertThat(failures).hasSize(expectedCodes.size() + 2);
        }
    }
}
