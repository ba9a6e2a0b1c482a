package dev.loupe.flink.inference;

import dev.loupe.flink.batch.AdmissionQueue;
import dev.loupe.flink.batch.DynamicBatcher;
import dev.loupe.model.api.AnnotationFeed;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.schemas.AnnotationResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference operator under continuous (step-level) scheduling: the model thread runs one long
 * {@link dev.loupe.model.api.BatchAnnotator#annotateFed} loop fed from this operator's input through an
 * {@link AdmissionQueue}; requests join the decoding rows at step boundaries (at most {@code batch.max-size} rows at
 * once), and each result goes back through the mailbox and is emitted the moment its row finishes, so a short answer
 * does not wait for a long caption admitted with it. An idle loop starts once {@code batch.max-size} requests wait or
 * the oldest waited {@code batch.max-delay}. Beam search and ranking requests run in whole-request batches between
 * two steps; a failing row gets its own failure record (the loop retries the rows it decoded with alone).
 *
 * <p>Each emitted request's pixel array goes back to {@link PixelBuffers#SHARED}, as under static batching.
 *
 * <p>Backpressure: the task thread takes no more input while it holds {@code 2 × batch.max-size} requests (decoding
 * plus waiting). Checkpoints store every request held whose outcome was not emitted, waiting or mid-generation, as
 * {@link BatchInferenceOperator} does; a restore generates them again from the start, and seeded sampling and batch
 * invariance make the rerun's results the same, so a transactional sink keeps exactly-once.
 */
public final class ContinuousInferenceOperator extends InferenceOperatorBase {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ContinuousInferenceOperator.class);

    /** A request held by the operator, from arrival to its emitted outcome. Identity equality. */
    private static final class Held {
        final PreparedRequest request;
        final long enqueuedAt;
        /** When the loop took it from the queue, and with how many others (written by the model thread). */
        volatile long takenAt;
        volatile int takenWith;

        Held(PreparedRequest request, long enqueuedAt) {
            this.request = request;
            this.enqueuedAt = enqueuedAt;
        }
    }

    private transient AdmissionQueue<Held> queue;
    /** Every request whose outcome was not emitted, in arrival order (task thread only). */
    private transient Set<Held> held;
    private transient volatile int heldCount;

    ContinuousInferenceOperator(StreamOperatorParameters<AnnotationResult> parameters, AnnotatorFactory factory,
            TypeInformation<PreparedRequest> elementType, int maxSize, Duration maxDelay, MailboxExecutor mailbox) {
        super(parameters, factory, elementType, maxSize, maxDelay, mailbox);
    }

    /** The most requests held at once: {@code maxSize} decoding and as many waiting. */
    int maxHeld() {
        return 2 * maxSize;
    }

    @Override
    public void open() throws Exception {
        queue = new AdmissionQueue<>(maxSize, maxDelay, System::currentTimeMillis);
        held = new LinkedHashSet<>();
        super.open();
        getMetricGroup().gauge("requestsHeld", () -> heldCount);
        AnnotationFeed<Held> feed = new Feed();
        modelThread.execute(() -> {
            try {
                annotator.annotateFed(feed, maxSize, this::rowFinished);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Throwable t) {
                // not a row's failure (those are outcomes): fail the task, the restore generates the held requests again
                try {
                    mailbox.execute(() -> {
                        throw new Exception("the continuous inference loop failed", t);
                    }, "loupe inference loop failed");
                } catch (RejectedExecutionException closing) {
                    LOG.debug("Task is closing; the inference loop failed with {}", t.toString());
                }
            }
        });
    }

    @Override
    protected void restore(List<DynamicBatcher.Entry<PreparedRequest>> entries) {
        for (DynamicBatcher.Entry<PreparedRequest> e : entries) {
            hold(e.element(), e.enqueuedAt());
        }
    }

    @Override
    protected List<DynamicBatcher.Entry<PreparedRequest>> pending() {
        List<DynamicBatcher.Entry<PreparedRequest>> entries = new ArrayList<>(held == null ? 0 : held.size());
        if (held != null) {
            for (Held h : held) {
                entries.add(new DynamicBatcher.Entry<>(h.request, h.enqueuedAt));
            }
        }
        return entries;
    }

    @Override
    protected int buffered() {
        return queue.size();
    }

    @Override
    protected void stopModel() {
        if (queue != null) {
            queue.cancel();
        }
    }

    @Override
    public void processElement(StreamRecord<PreparedRequest> element) throws Exception {
        hold(element.getValue(), System.currentTimeMillis());
        while (held.size() >= maxHeld()) {
            mailbox.yield();   // backpressure: runs this operator's mails, i.e. finished rows
        }
    }

    private void hold(PreparedRequest request, long enqueuedAt) {
        Held h = new Held(request, enqueuedAt);
        held.add(h);
        heldCount = held.size();
        queue.offer(h, enqueuedAt);
    }

    /** Lets the loop take whatever waits at once and waits until every held request is emitted. */
    @Override
    protected void drain() throws Exception {
        queue.end();
        while (!held.isEmpty()) {
            mailbox.yield();
        }
    }

    /** On the model thread: hands a finished row to the task thread. */
    private void rowFinished(Held h, AnnotationOutcome outcome) {
        long finishedAt = System.currentTimeMillis();
        try {
            mailbox.execute(() -> emitRow(h, outcome, finishedAt), "loupe row finished");
        } catch (RejectedExecutionException closing) {
            LOG.debug("Task is closing; dropping the outcome of {} (it is in the checkpoint)", h.request.request.id);
        }
    }

    /** On the task thread: emits a finished row's result or failure. */
    private void emitRow(Held h, AnnotationOutcome outcome, long finishedAt) {
        if (!held.remove(h)) {
            throw new IllegalStateException("an outcome came back for a request this operator does not hold");
        }
        heldCount = held.size();
        long queueMillis = Math.max(0, h.takenAt - h.enqueuedAt);
        queueWaitMillis.update(queueMillis);
        batchSizes.update(h.takenWith);
        emit(inference.one(h.request, outcome, queueMillis, Math.max(0, finishedAt - h.takenAt), h.takenWith));
        // its outcome is out and the loop has let go of its row: the next request's preprocessing reuses the array
        PixelBuffers.SHARED.give(h.request.pixels);
        h.request.pixels = null;
    }

    /** The queue as the model's feed: stamps when each request was taken and with how many. */
    private final class Feed implements AnnotationFeed<Held> {
        @Override
        public List<Held> poll(int max) {
            List<Held> taken = queue.poll(max);
            long now = System.currentTimeMillis();
            for (Held h : taken) {
                h.takenAt = now;
                h.takenWith = taken.size();
            }
            return taken;
        }

        @Override
        public boolean awaitWork() throws InterruptedException {
            return queue.awaitWork();
        }

        @Override
        public boolean cancelled() {
            return queue.cancelled();
        }

        @Override
        public AnnotationInput input(Held request) {
            return request.request.toInput();
        }
    }
}
