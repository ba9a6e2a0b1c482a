package dev.loupe.jobs.soak;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/**
 * The checkpoints a soak's job completed and how long they took from trigger to completion, as Flink's REST API
 * reports them ({@code /jobs/:id/checkpoints}): the part of the commit wait beyond the interval's phase, which
 * shows whether a shorter checkpoint interval would shorten what a {@code read_committed} reader waits.
 *
 * @param completed checkpoints completed
 * @param failed    checkpoints failed
 * @param p50Millis median time from a checkpoint's trigger to its completion
 * @param p99Millis its 99th percentile
 * @param maxMillis the longest
 */
public record CheckpointStats(long completed, long failed, long p50Millis, long p99Millis, long maxMillis) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The figures in a {@code /jobs/:id/checkpoints} response body. */
    public static CheckpointStats parse(String body) throws IOException {
        JsonNode o = JSON.readTree(body);
        JsonNode counts = o.path("counts");
        JsonNode duration = o.path("summary").path("end_to_end_duration");
        if (!counts.has("completed")) {   // before any checkpoint completed the durations may be missing: 0
            throw new IOException("not a checkpoint statistics response: " + body);
        }
        return new CheckpointStats(counts.path("completed").asLong(), counts.path("failed").asLong(),
                Math.round(duration.path("p50").asDouble()), Math.round(duration.path("p99").asDouble()),
                duration.path("max").asLong());
    }

    /**
     * These figures with the checkpoints counted in {@code earlier} taken out of the counts (the percentiles stay the
     * job's): the checkpoints of a measured run, without the triggers Flink refused while the tasks were starting.
     */
    public CheckpointStats since(CheckpointStats earlier) {
        return new CheckpointStats(completed - earlier.completed, failed - earlier.failed, p50Millis, p99Millis,
                maxMillis);
    }

    /**
     * Asks the REST API at {@code webUrl} for job {@code jobId}'s figures; empty when it does not answer (the job's
     * figures then stay out of the report rather than fail the run).
     */
    public static Optional<CheckpointStats> fetch(String webUrl, String jobId) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(webUrl + "/jobs/" + jobId + "/checkpoints"))
                .timeout(Duration.ofSeconds(10)).build();
        try {
            HttpResponse<String> response = HttpClient.newHttpClient().send(request,
                    HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? Optional.of(parse(response.body())) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
