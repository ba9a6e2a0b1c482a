package dev.loupe.jobs.caption;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * The bounded FLIP-27 source of {@code loupe caption}: the {@link InputPlan}'s splits are handed out one at a time to
 * whichever subtask asks, so folders and archives are read in parallel, and each reader checkpoints how far into
 * its split it is, so a restored job neither skips nor repeats an entry. Emits {@link SourcedImage}s.
 */
public final class CaptionSource implements Source<SourcedImage, InputSplit, Collection<InputSplit>> {
    private static final long serialVersionUID = 1L;

    private final List<InputSplit> splits;
    private final RequestTemplate template;
    private final long maxBytes;

    public CaptionSource(List<InputSplit> splits, RequestTemplate template, long maxBytes) {
        this.splits = new ArrayList<>(splits);
        this.template = template;
        this.maxBytes = maxBytes;
    }

    @Override
    public Boundedness getBoundedness() {
        return Boundedness.BOUNDED;
    }

    @Override
    public SplitEnumerator<InputSplit, Collection<InputSplit>> createEnumerator(
            SplitEnumeratorContext<InputSplit> context) {
        return new InputSplitEnumerator(context, splits);
    }

    @Override
    public SplitEnumerator<InputSplit, Collection<InputSplit>> restoreEnumerator(
            SplitEnumeratorContext<InputSplit> context, Collection<InputSplit> checkpoint) {
        return new InputSplitEnumerator(context, checkpoint);
    }

    @Override
    public SourceReader<SourcedImage, InputSplit> createReader(SourceReaderContext context) {
        return new InputSplitReader(context, template, maxBytes);
    }

    @Override
    public SimpleVersionedSerializer<InputSplit> getSplitSerializer() {
        return new InputSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<Collection<InputSplit>> getEnumeratorCheckpointSerializer() {
        return new SplitListSerializer();
    }

    /** Hands splits out on request, in plan order; its checkpoint is the splits not yet handed out. */
    static final class InputSplitEnumerator implements SplitEnumerator<InputSplit, Collection<InputSplit>> {
        private final SplitEnumeratorContext<InputSplit> context;
        private final ArrayDeque<InputSplit> remaining;

        InputSplitEnumerator(SplitEnumeratorContext<InputSplit> context, Collection<InputSplit> splits) {
            this.context = context;
            this.remaining = new ArrayDeque<>(splits);
        }

        @Override
        public void start() {}

        @Override
        public void handleSplitRequest(int subtaskId, String requesterHostname) {
            InputSplit next = remaining.pollFirst();
            if (next != null) {
                context.assignSplit(next, subtaskId);
            } else {
                context.signalNoMoreSplits(subtaskId);
            }
        }

        @Override
        public void addSplitsBack(List<InputSplit> splits, int subtaskId) {
            // splits of a failed reader since the last checkpoint, at their checkpointed positions
            for (int i = splits.size() - 1; i >= 0; i--) {
                remaining.addFirst(splits.get(i));
            }
        }

        @Override
        public void addReader(int subtaskId) {}

        @Override
        public Collection<InputSplit> snapshotState(long checkpointId) {
            return new ArrayList<>(remaining);
        }

        @Override
        public void close() {}
    }
}
