package dev.loupe.jobs.caption;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.core.io.InputStatus;

/**
 * Reads one {@link InputSplit} at a time, one entry per {@link #pollNext} call, and asks the enumerator for the next
 * split when it is done. Its checkpoint is its current split at the number of entries emitted so far (plus any
 * splits queued behind it), so a restore resumes right after the last entry the checkpoint covers.
 */
final class InputSplitReader implements SourceReader<SourcedImage, InputSplit> {
    private final SourceReaderContext context;
    private final RequestTemplate template;
    private final long maxBytes;
    private final ArrayDeque<InputSplit> queued = new ArrayDeque<>();
    private CompletableFuture<Void> available = new CompletableFuture<>();
    private boolean noMoreSplits;
    private boolean awaitingSplit;
    private InputSplit current;
    private InputEntries entries;
    private long emitted;

    InputSplitReader(SourceReaderContext context, RequestTemplate template, long maxBytes) {
        this.context = context;
        this.template = template;
        this.maxBytes = maxBytes;
    }

    @Override
    public void start() {
        if (queued.isEmpty()) {
            requestSplit();
        }
    }

    @Override
    public InputStatus pollNext(ReaderOutput<SourcedImage> output) throws Exception {
        while (true) {
            if (current == null) {
                current = queued.pollFirst();
                if (current == null) {
                    if (noMoreSplits) {
                        return InputStatus.END_OF_INPUT;
                    }
                    requestSplit();
                    return InputStatus.NOTHING_AVAILABLE;
                }
                emitted = current.position();
                entries = InputEntries.open(current, maxBytes, true);
            }
            InputEntry entry = entries.next();
            if (entry == null) {
                closeEntries();
                current = null;
                continue;
            }
            output.collect(template.toSourced(entry, InputSplit.sequence(current.index(), emitted)));
            emitted++;
            return InputStatus.MORE_AVAILABLE;
        }
    }

    private void requestSplit() {
        if (!awaitingSplit && !noMoreSplits) {
            awaitingSplit = true;
            if (available.isDone()) {
                available = new CompletableFuture<>();
            }
            context.sendSplitRequest();
        }
    }

    @Override
    public List<InputSplit> snapshotState(long checkpointId) {
        List<InputSplit> state = new ArrayList<>();
        if (current != null) {
            state.add(current.at(emitted));
        }
        state.addAll(queued);
        return state;
    }

    @Override
    public CompletableFuture<Void> isAvailable() {
        return available;
    }

    @Override
    public void addSplits(List<InputSplit> splits) {
        queued.addAll(splits);
        awaitingSplit = false;
        available.complete(null);
    }

    @Override
    public void notifyNoMoreSplits() {
        noMoreSplits = true;
        awaitingSplit = false;
        available.complete(null);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {}

    @Override
    public void close() throws IOException {
        closeEntries();
    }

    private void closeEntries() throws IOException {
        if (entries != null) {
            entries.close();
            entries = null;
        }
    }
}
