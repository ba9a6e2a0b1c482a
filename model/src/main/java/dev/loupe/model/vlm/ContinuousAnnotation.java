package dev.loupe.model.vlm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.AnnotationFeed;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator.OutcomeListener;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.Task;
import dev.loupe.model.llm.ContinuousBatch;
import dev.loupe.model.llm.DecodeScheduler;
import dev.loupe.model.llm.ContinuousDecoder;
import dev.loupe.model.llm.VisualPrefix;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * One {@link PrefixLanguageModelAnnotator#annotateContinuously} or {@link PrefixLanguageModelAnnotator#annotateFed}
 * call: the one-beam rows (greedy, sampling) go through a {@link DecodeScheduler}, taken from the feed at each step
 * boundary, their image prefixes built ahead of admission in groups of up to {@code maxActiveRows} (or, when asked,
 * on a thread of their own in the idle scheduling class while the admitted rows decode: {@link PrefixesAhead}), each outcome handed on the moment its row
 * finishes. Beam-search and ranking rows keep whole-request batches: they run between
 * two steps, once {@code maxActiveRows} of them are collected or the feed has nothing more for now. A prefix that
 * fails for a group is built again row by row, so only the row at fault fails; a decoder step that fails fails the rows
 * decoding together, and each of them (and each still waiting) then runs alone through the static path, where the
 * one at fault gets its own failure and the others their unchanged results (batch invariance). A row's prefix
 * (with the device-bound runner, its image output in the device's memory) is released as soon as its prefill has
 * run, or when the row leaves the loop unadmitted.
 */
final class ContinuousAnnotation<P> {
    private final PrefixLanguageModelAnnotator<P> annotator;
    private final VisualPrefixEncoder<P> encoder;
    private final ContinuousDecoder language;
    private final int[] eosIds;

    /** A request in the loop: the caller's tag, its input and its encoded prompt (identity equality). */
    private static final class Row<T, P> {
        final T request;
        final AnnotationInput input;
        final P prompt;
        /** Its decoder input, once built, until its prefill has run (then released). */
        VisualPrefix prefix;

        Row(T request, AnnotationInput input, P prompt) {
            this.request = request;
            this.input = input;
            this.prompt = prompt;
        }
    }

    ContinuousAnnotation(PrefixLanguageModelAnnotator<P> annotator, VisualPrefixEncoder<P> encoder,
                         ContinuousDecoder language, int[] eosIds) {
        this.annotator = annotator;
        this.encoder = encoder;
        this.language = language;
        this.eosIds = eosIds;
    }

    /** A fixed list of inputs, tagged by their index. */
    void run(List<AnnotationInput> inputs, int maxActiveRows, OutcomeListener listener) {
        try {
            run(new ListFeed(inputs), maxActiveRows, listener::outcome);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();   // a list feed never waits
            throw new IllegalStateException("interrupted", e);
        }
    }

    <T> void run(AnnotationFeed<T> feed, int maxActiveRows, AnnotationFeed.Listener<T> listener)
            throws InterruptedException {
        run(feed, maxActiveRows, listener, PrefixesAhead.backgroundByDefault() && encoder.buildsOnCaller());
    }

    /**
     * @param background whether the image side of waiting rows is built on a thread of its own while rows decode
     *                   ({@link PrefixesAhead})
     */
    <T> void run(AnnotationFeed<T> feed, int maxActiveRows, AnnotationFeed.Listener<T> listener, boolean background)
            throws InterruptedException {
        DecodeScheduler<Row<T, P>> scheduler = DecodeScheduler.withRows(maxActiveRows);
        ArrayDeque<Row<T, P>> ready = new ArrayDeque<>();
        List<T> wholeRequests = new ArrayList<>();
        Set<Row<T, P>> inFlight = new LinkedHashSet<>();
        List<Row<T, P>> admitted = new ArrayList<>();
        ContinuousBatch<Row<T, P>> batch = null;
        try (PrefixesAhead<Row<T, P>> ahead = background
                ? new PrefixesAhead<>(this::prefixes, this::prefixesInBackground, maxActiveRows,
                        PrefixesAhead.backgroundGroupByDefault())
                : new PrefixesAhead<>(this::prefixes, maxActiveRows)) {
            while (!feed.cancelled()) {
                if (!ahead.background()) {
                    takeBuilt(ahead, ready, listener, Integer.MAX_VALUE);
                }
                boolean decoding = batch != null && batch.size() > 0;
                boolean idle = !decoding && ready.isEmpty() && ahead.isEmpty() && wholeRequests.isEmpty();
                if (idle && !feed.awaitWork()) {
                    return;
                }
                int wanted = maxActiveRows - ready.size() - ahead.held();
                boolean drained = take(feed, wanted, ahead, wholeRequests, listener) < wanted;
                if (wholeRequests.size() >= maxActiveRows || (drained && !wholeRequests.isEmpty())) {
                    for (int from = 0; from < wholeRequests.size(); from += maxActiveRows) {
                        annotator.annotateIsolated(wholeRequests.subList(from,
                                Math.min(wholeRequests.size(), from + maxActiveRows)), feed, listener);
                    }
                    wholeRequests.clear();
                }
                if (ready.isEmpty() && ahead.isEmpty() && !decoding) {
                    continue;
                }
                try {
                    int active = decoding ? batch.size() : 0;
                    if (ahead.background()) {
                        readyToJoin(scheduler, active, ready, ahead, listener);
                    } else if (needsPrefixes(scheduler, active, ready, ahead)) {
                        ahead.await();
                        takeBuilt(ahead, ready, listener, Integer.MAX_VALUE);
                        if (!decoding && takeArrivedMeanwhile(feed, scheduler, ready, ahead, wholeRequests,
                                listener)) {
                            continue;   // build them too: they join this first prefill
                        }
                    }
                    if (batch == null) {
                        batch = language.continuousBatch(eosIds, false, annotator.clock());
                    }
                    scheduler.advance(batch, ready, group -> joining(group, inFlight, admitted), finished -> {
                        inFlight.remove(finished.tag());
                        listener.outcome(finished.tag().request,
                                AnnotationOutcome.success(annotator.annotation(List.of(finished.sequence()))));
                    });
                    admitted.forEach(ContinuousAnnotation::release); // prefilled: the cache holds them now
                    admitted.clear();
                } catch (OrtException | RuntimeException e) {
                    if (batch != null) {
                        batch.close();
                        batch = null;
                    }
                    inFlight.addAll(ready);
                    ready.clear();
                    inFlight.addAll(ahead.drain());
                    inFlight.forEach(ContinuousAnnotation::release);
                    admitted.clear();
                    for (Row<T, P> row : inFlight) {
                        annotator.annotateIsolated(List.of(row.request), feed, listener);
                    }
                    inFlight.clear();
                }
            }
        } finally {
            if (batch != null) {
                batch.close();
            }
            ready.forEach(ContinuousAnnotation::release);
            inFlight.forEach(ContinuousAnnotation::release);
        }
    }

    /** Releases a row's prefix (once prefilled, or when it will not be). */
    private static void release(Row<?, ?> row) {
        if (row.prefix != null) {
            row.prefix.close();
            row.prefix = null;
        }
    }

    /**
     * Without a background thread: whether the loop builds the next group before this step boundary, when the
     * admission rule would take more rows than are built.
     */
    private static <J, R> boolean needsPrefixes(DecodeScheduler<J> scheduler, int active, ArrayDeque<J> ready,
                                                PrefixesAhead<R> ahead) {
        if (ahead.isEmpty()) {
            return false;
        }
        int holding = ready.size() + ahead.held();
        return scheduler.admits(active, holding)
                && ready.size() < Math.min(scheduler.maxActiveRows() - active, holding);
    }

    /**
     * With no row decoding, after a group's image side was built: takes the requests that arrived meanwhile, up to
     * {@code maxActiveRows} held, so that they are built and join the same first prefill. Otherwise a stream whose
     * requests trickle in (a job starting on a backlog, its requests decoded one by one) would start with the few
     * that came within {@code batch.max-delay} and admit the next few one prefill later; under uniform lengths such
     * groups finish apart and are refilled apart for as long as the backlog lasts, each with a prefill of its own
     * (docs/benchmarks.md, session 17).
     *
     * @return whether any request was taken
     */
    private <T> boolean takeArrivedMeanwhile(AnnotationFeed<T> feed, DecodeScheduler<Row<T, P>> scheduler,
                                             ArrayDeque<Row<T, P>> ready, PrefixesAhead<Row<T, P>> ahead,
                                             List<T> wholeRequests, AnnotationFeed.Listener<T> listener) {
        int room = scheduler.maxActiveRows() - ready.size() - ahead.held();
        return take(feed, room, ahead, wholeRequests, listener) > 0;
    }

    /**
     * With a background thread: when the admission rule lets a group join at this step boundary (counting every row
     * held, built or not), the group's rows become ready — those the background built, the rest built now on the
     * loop's thread ({@link PrefixesAhead#buildMissing}, in a group of at least the rule's smallest join) — so that
     * it joins whole; decoding on with free slots
     * instead would run more, emptier steps. Built rows stay with {@code ahead} until then: rows the background
     * finishes one by one would otherwise join one by one, each with a prefill run of its own.
     */
    private <T> void readyToJoin(DecodeScheduler<Row<T, P>> scheduler, int active, ArrayDeque<Row<T, P>> ready,
                                 PrefixesAhead<Row<T, P>> ahead, AnnotationFeed.Listener<T> listener) {
        int holding = ready.size() + ahead.held();
        if (!scheduler.admits(active, holding)) {
            return;
        }
        int missing = Math.min(scheduler.maxActiveRows() - active, holding) - ready.size();
        if (missing > 0) {
            ahead.buildMissing(missing, scheduler.minJoin());
            takeBuilt(ahead, ready, listener, missing);
        }
    }

    /**
     * Up to {@code most} built rows join the ready queue, to be admitted; a row whose prefix failed gets its failure
     * now.
     */
    private <T> void takeBuilt(PrefixesAhead<Row<T, P>> ahead, ArrayDeque<Row<T, P>> ready,
                               AnnotationFeed.Listener<T> listener, int most) {
        for (PrefixesAhead.Built<Row<T, P>> b : ahead.take(most)) {
            Row<T, P> row = b.row();
            if (b.failure() != null) {
                listener.outcome(row.request, PrefixLanguageModelAnnotator.failure(b.failure()));
            } else {
                row.prefix = b.prefix();
                ready.add(row);
            }
        }
    }

    /** An admitted group's rows as they join the batch (in flight from now on). */
    private <T> List<ContinuousBatch.Joining<Row<T, P>>> joining(List<Row<T, P>> group, Set<Row<T, P>> inFlight,
                                                                 List<Row<T, P>> admitted) {
        inFlight.addAll(group);
        admitted.addAll(group);
        List<ContinuousBatch.Joining<Row<T, P>>> joining = new ArrayList<>(group.size());
        for (Row<T, P> row : group) {
            joining.add(new ContinuousBatch.Joining<>(row, row.prefix,
                    language.penaltyContext(encoder.inputIds(row.prompt)), row.input.generation()));
        }
        return joining;
    }

    /**
     * Takes up to {@code max} requests from the feed: one-beam rows wait for their prefixes with their prompt
     * encoded, the others are collected for whole-request batches; a prompt that cannot be encoded is that row's
     * failure.
     *
     * @return how many were taken
     */
    private <T> int take(AnnotationFeed<T> feed, int max, PrefixesAhead<Row<T, P>> ahead, List<T> wholeRequests,
                         AnnotationFeed.Listener<T> listener) {
        if (max <= 0) {
            return 0;
        }
        List<T> taken = feed.poll(max);
        List<Row<T, P>> rows = new ArrayList<>(taken.size());
        for (T request : taken) {
            AnnotationInput in = feed.input(request);
            GenerationConfig g = in.generation();
            if (in.task() == Task.RANK || g.numBeams() > 1 || g.numReturnSequences() > 1) {
                wholeRequests.add(request);
                continue;
            }
            try {
                rows.add(new Row<>(request, in, encoder.encodePrompt(in.prompt(), g.maxNewTokens())));
            } catch (AnnotationException e) {
                listener.outcome(request, AnnotationOutcome.failure(e.code(), e.getMessage()));
            }
        }
        ahead.addAll(rows);
        return taken.size();
    }

    /** The image-side prefixes of a group of rows (one image-side batch); throws for the group. */
    private <T> List<VisualPrefix> prefixes(List<Row<T, P>> group) throws AnnotationException {
        return prefixes(group, false);
    }

    /** As {@link #prefixes(List)}, on the background thread: the image side wholly on that thread. */
    private <T> List<VisualPrefix> prefixesInBackground(List<Row<T, P>> group) throws AnnotationException {
        return prefixes(group, true);
    }

    private <T> List<VisualPrefix> prefixes(List<Row<T, P>> group, boolean inBackground) throws AnnotationException {
        return annotator.prefixes(group.stream().map(r -> r.input).toList(),
                group.stream().map(r -> r.prompt).toList(), IntStream.range(0, group.size()).boxed().toList(),
                inBackground);
    }

    /** A list's inputs, tagged by index, all there from the start. */
    private static final class ListFeed implements AnnotationFeed<Integer> {
        private final List<AnnotationInput> inputs;
        private int next;

        ListFeed(List<AnnotationInput> inputs) {
            this.inputs = inputs;
        }

        @Override
        public List<Integer> poll(int max) {
            int to = Math.min(inputs.size(), next + max);
            List<Integer> taken = IntStream.range(next, to).boxed().toList();
            next = to;
            return taken;
        }

        @Override
        public boolean awaitWork() {
            return next < inputs.size();
        }

        @Override
        public boolean cancelled() {
            return false;
        }

        @Override
        public AnnotationInput input(Integer request) {
            return inputs.get(request);
        }
    }
}
