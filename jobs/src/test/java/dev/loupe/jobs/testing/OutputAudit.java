package dev.loupe.jobs.testing;

import dev.loupe.jobs.streaming.JobSettings;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What became of each request id a test expects, read from the job's topics as they are now: a committed result or
 * dead letter (how many of each), a result written but not committed (in an aborted or still open transaction),
 * or no trace downstream, in which case whether the request is in the requests topic at all. A failed exactly-once
 * assertion then says whether output was lost, only not yet committed, or never had an input.
 */
public final class OutputAudit {

    private final List<String> expected;
    private final List<String> committedResults;
    private final List<String> committedFailures;
    private final Set<String> uncommittedResults;
    private final Set<String> requests;

    private OutputAudit(List<String> expected, List<String> committedResults, List<String> committedFailures,
            Set<String> uncommittedResults, Set<String> requests) {
        this.expected = List.copyOf(expected);
        this.committedResults = committedResults;
        this.committedFailures = committedFailures;
        this.uncommittedResults = uncommittedResults;
        this.requests = requests;
    }

    /** Reads the requests, results and dead-letter topics of {@code job} to their ends now. */
    public static OutputAudit of(RunningJob job, Collection<String> expectedIds) {
        JobSettings settings = job.settings();
        Topics topics = job.topics;
        List<String> committed = topics.readToEnd(settings.resultsTopic(), true, r -> Topics.result(r).getId().toString());
        Set<String> written = new HashSet<>(
                topics.readToEnd(settings.resultsTopic(), false, r -> Topics.result(r).getId().toString()));
        written.removeAll(committed);
        List<String> failures = topics.readToEnd(settings.deadLetterTopic(), true,
                r -> String.valueOf(Topics.failure(r).getId()));
        Set<String> requests = new HashSet<>(topics.readToEnd(settings.requestsTopic(), false,
                r -> Topics.request(r).getId().toString()));
        return new OutputAudit(List.copyOf(expectedIds), committed, failures, written, requests);
    }

    /** The ids of the committed results, in topic order (duplicates included). */
    public List<String> committedResultIds() {
        return committedResults;
    }

    /** The ids of the committed dead letters, in topic order. */
    public List<String> committedFailureIds() {
        return committedFailures;
    }

    /** One line per kind of outcome, with the ids of each (ranges of consecutive r&lt;n&gt; ids shortened). */
    public String explain() {
        Map<String, Long> counts = committedResults.stream()
                .collect(Collectors.groupingBy(Function.identity(), LinkedHashMap::new, Collectors.counting()));
        List<String> duplicated = counts.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
        List<String> unexpected = counts.keySet().stream().filter(id -> !expected.contains(id)).toList();
        List<String> uncommitted = new ArrayList<>();
        List<String> notInRequests = new ArrayList<>();
        List<String> readButNoOutput = new ArrayList<>();
        for (String id : expected) {
            if (counts.containsKey(id) || committedFailures.contains(id)) {
                continue;
            }
            if (uncommittedResults.contains(id)) {
                uncommitted.add(id);
            } else if (!requests.contains(id)) {
                notInRequests.add(id);
            } else {
                readButNoOutput.add(id);
            }
        }
        return String.join("\n",
                "expected " + expected.size() + " ids; committed results " + committedResults.size() + " ("
                        + counts.size() + " distinct), committed dead letters " + committedFailures.size(),
                "  duplicated in committed results: " + ranges(duplicated),
                "  committed but not expected: " + ranges(unexpected),
                "  dead-lettered: " + ranges(committedFailures),
                "  missing, written only uncommitted (aborted or open transaction): " + ranges(uncommitted),
                "  missing, in the requests topic but no output at all: " + ranges(readButNoOutput),
                "  missing, never in the requests topic: " + ranges(notInRequests));
    }

    /** {@code [r0-r134, r140]} for ids r0..r134 and r140; other ids as they are. */
    static String ranges(List<String> ids) {
        List<String> parts = new ArrayList<>();
        int i = 0;
        while (i < ids.size()) {
            int j = i;
            while (j + 1 < ids.size() && number(ids.get(j)) >= 0 && number(ids.get(j + 1)) == number(ids.get(j)) + 1) {
                j++;
            }
            parts.add(j > i ? ids.get(i) + "-" + ids.get(j) : ids.get(i));
            i = j + 1;
        }
        return parts.isEmpty() ? "none" : parts.toString();
    }

    private static int number(String id) {
        return id.matches("r\\d{1,9}") ? Integer.parseInt(id.substring(1)) : -1;
    }
}
