package dev.loupe.jobs.enrich;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Plans a run's requests: for each image (by journal key), the columns the journal does not hold yet, each
 * (image, column) once however many rows or samples share the image; counts them and the annotations the journal
 * already holds. The planner writes the work-file line of each image that has columns to compute.
 */
final class PendingRequests {

    private final Journal journal;
    private final List<AddedColumn> columns;
    private final Set<String> planned = new HashSet<>();
    private long requests;
    private long reused;

    PendingRequests(Journal journal, List<AddedColumn> columns) {
        this.journal = journal;
        this.columns = columns;
    }

    /** The names of the columns still to compute for the image known as {@code key} (empty: nothing to do). */
    List<String> columns(String key) {
        List<String> todo = new ArrayList<>();
        for (AddedColumn column : columns) {
            if (journal.done(key, column.name(), column.promptHash())) {
                reused++;
            } else if (planned.add(AddedColumn.requestId(column.name(), key))) {
                todo.add(column.name());
            }
        }
        requests += todo.size();
        return todo;
    }

    long requests() {
        return requests;
    }

    long reused() {
        return reused;
    }
}
