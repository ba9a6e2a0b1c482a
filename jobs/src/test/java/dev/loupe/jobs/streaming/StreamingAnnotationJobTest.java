package dev.loupe.jobs.streaming;

import dev.loupe.config.JobOptions;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.jobs.testing.EchoAnnotatorFactory;
import dev.loupe.jobs.testing.Requests;
import dev.loupe.jobs.testing.RunningJob;
import dev.loupe.jobs.testing.Topics;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.Task;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Requests in, exactly one result per request out, each on its task's topic keyed by request id, through a real
 * broker and MiniCluster at parallelism 2 over two partitions.
 */
@Tag("slow")
class StreamingAnnotationJobTest {

    @Test
    void everyRequestGetsExactlyOneResultOnItsTasksTopic() throws Exception {
        try (RunningJob job = new RunningJob()) {
            String captions = job.name + ".results.caption";
            String answers = job.name + ".results.vqa";
            job.conf.set(JobOptions.RESULTS_TOPIC_PER_TASK, Map.of("caption", captions, "VQA", answers));
            job.conf.set(JobOptions.PARALLELISM, 2);
            job.partitions = 2;
            job.start(EchoAnnotatorFactory.fast(job.name));

            Task[] tasks = {Task.CAPTION, Task.VQA, Task.RANK};
            List<AnnotationRequest> requests = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                requests.add(Requests.inline("r" + i, tasks[i % 3], Requests.image(6, 5, "png", i)));
            }
            job.topics.sendRequests(job.settings().requestsTopic(), requests);

            List<Topics.Placed<AnnotationResult>> results = job.topics.readCommitted(
                    List.of(captions, answers, job.settings().resultsTopic()), 12, Topics::placedResult);

            assertThat(results).extracting(p -> p.value().getId())
                    .containsExactlyInAnyOrderElementsOf(requests.stream().map(AnnotationRequest::getId).toList());
            Map<String, Topics.Placed<AnnotationResult>> byId =
                    results.stream().collect(Collectors.toMap(p -> p.value().getId(), Function.identity()));
            for (AnnotationRequest r : requests) {
                Topics.Placed<AnnotationResult> placed = byId.get(r.getId());
                String expectedTopic = switch (r.getTask()) {
                    case CAPTION -> captions;
                    case VQA -> answers;
                    case RANK -> job.settings().resultsTopic();
                };
                assertThat(placed.topic()).as("topic of %s", r.getId()).isEqualTo(expectedTopic);
                assertThat(placed.key()).isEqualTo(r.getId());
                assertThat(placed.value().getModelId()).isEqualTo("echo");
            }
            assertThat(job.topics.readCommitted(List.of(job.settings().deadLetterTopic()), 0, Topics::failure)).isEmpty();
        }
    }
}
