package dev.loupe.jobs.enrich;

import java.io.IOException;
import java.io.Writer;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Plans a run's requests into its work file, one line per (image, column) the journal does not hold yet, each once
 * however many rows share the image, and counts the annotations the journal already holds.
 */
final class PendingRequests {

    private final Journal journal;
    private final List<AddedColumn> columns;
    private final Writer work;
    private final Set<String> planned = new HashSet<>();
    private long requests;
    private long reused;

    PendingRequests(Journal journal, List<AddedColumn> columns, Writer work) {
        this.journal = journal;
        this.columns = columns;
        this.work = work;
    }

    /**
     * Plans every column for the image at {@code uri}; {@code location} (null for none) follows the request id on
     * its line after a tab, for the job to find the image's bytes.
     */
    void add(String uri, String location) throws IOException {
        for (AddedColumn column : columns) {
            String id = AddedColumn.requestId(column.name(), uri);
            if (journal.done(uri, column.name(), column.promptHash())) {
                reused++;
            } else if (planned.add(id)) {
                work.write(id);
                if (location != null) {
                    work.write('\t');
                    work.write(location);
                }
                work.write('\n');
                requests++;
            }
        }
    }

    long requests() {
        return requests;
    }

    long reused() {
        return reused;
    }
}
