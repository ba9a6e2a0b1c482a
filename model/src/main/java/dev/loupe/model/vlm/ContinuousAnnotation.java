package dev.loupe.model.vlm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.AnnotationInput;
import dev.loupe.model.api.AnnotationOutcome;
import dev.loupe.model.api.BatchAnnotator.OutcomeListener;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.Task;
import dev.loupe.model.llm.ContinuousBatch;
import dev.loupe.model.llm.DecodeScheduler;
import dev.loupe.model.llm.PrefixStepDecoder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One {@link PrefixLanguageModelAnnotator#annotateContinuously} call: the one-beam rows (greedy, sampling) of the
 * inputs go through a {@link DecodeScheduler}, their image prefixes built as they are admitted (one image-side batch
 * per admitted group), each outcome handed on the moment its row finishes; beam-search and ranking rows, which keep
 * whole-request batches, run afterwards in static batches. A prefix that fails for a group is retried row by row,
 * so only the row at fault fails; a decoder step that fails fails the rows decoding together, and each of them (and
 * each still waiting) then runs alone through the static path, where the one at fault gets its own failure and the
 * others their unchanged results (batch invariance).
 */
final class ContinuousAnnotation<P> {
    private final PrefixLanguageModelAnnotator<P> annotator;
    private final VisualPrefixEncoder<P> encoder;
    private final PrefixStepDecoder language;
    private final int[] eosIds;

    ContinuousAnnotation(PrefixLanguageModelAnnotator<P> annotator, VisualPrefixEncoder<P> encoder,
                         PrefixStepDecoder language, int[] eosIds) {
        this.annotator = annotator;
        this.encoder = encoder;
        this.language = language;
        this.eosIds = eosIds;
    }

    void run(List<AnnotationInput> inputs, int maxActiveRows, OutcomeListener listener) {
        DecodeScheduler<Integer> scheduler = DecodeScheduler.withRows(maxActiveRows);
        List<Integer> wholeRequests = new ArrayList<>();
        List<P> prompts = new ArrayList<>(Collections.nCopies(inputs.size(), null));
        ArrayDeque<Integer> waiting = new ArrayDeque<>();
        for (int i = 0; i < inputs.size(); i++) {
            AnnotationInput in = inputs.get(i);
            GenerationConfig g = in.generation();
            if (in.task() == Task.RANK || g.numBeams() > 1 || g.numReturnSequences() > 1) {
                wholeRequests.add(i);
                continue;
            }
            try {
                prompts.set(i, encoder.encodePrompt(in.prompt(), g.maxNewTokens()));
                waiting.add(i);
            } catch (AnnotationException e) {
                listener.outcome(i, AnnotationOutcome.failure(e.code(), e.getMessage()));
            }
        }
        Set<Integer> inFlight = new LinkedHashSet<>();
        try (ContinuousBatch<Integer> batch = new ContinuousBatch<>(language.runner(), language.padTokenId(),
                eosIds, false)) {
            scheduler.run(batch, waiting, group -> admit(group, inputs, prompts, inFlight, listener), finished -> {
                inFlight.remove(finished.tag());
                listener.outcome(finished.tag(),
                        AnnotationOutcome.success(annotator.annotation(List.of(finished.sequence()))));
            });
        } catch (OrtException | RuntimeException e) {
            inFlight.addAll(waiting);
            for (int i : inFlight) {
                listener.outcome(i, annotator.annotate(List.of(inputs.get(i))).get(0));
            }
        }
        for (int from = 0; from < wholeRequests.size(); from += maxActiveRows) {
            List<Integer> rows = wholeRequests.subList(from, Math.min(wholeRequests.size(), from + maxActiveRows));
            List<AnnotationOutcome> out = annotator.annotate(rows.stream().map(inputs::get).toList());
            for (int k = 0; k < rows.size(); k++) {
                listener.outcome(rows.get(k), out.get(k));
            }
        }
    }

    /** The group's rows with their prefixes; a row whose prefix fails alone gets its failure and is dropped. */
    private List<ContinuousBatch.Joining<Integer>> admit(List<Integer> group, List<AnnotationInput> inputs,
                                                         List<P> prompts, Set<Integer> inFlight,
                                                         OutcomeListener listener) {
        inFlight.addAll(group);
        List<float[][]> prefixes;
        try {
            prefixes = annotator.prefixes(inputs, prompts, group);
        } catch (AnnotationException | RuntimeException e) {
            if (group.size() > 1) {
                List<ContinuousBatch.Joining<Integer>> joining = new ArrayList<>();
                for (int row : group) {
                    joining.addAll(admit(List.of(row), inputs, prompts, inFlight, listener));
                }
                return joining;
            }
            inFlight.remove(group.get(0));
            listener.outcome(group.get(0), PrefixLanguageModelAnnotator.failure(e));
            return List.of();
        }
        List<ContinuousBatch.Joining<Integer>> joining = new ArrayList<>(group.size());
        for (int k = 0; k < group.size(); k++) {
            int row = group.get(k);
            joining.add(new ContinuousBatch.Joining<>(row, prefixes.get(k),
                    language.penaltyContext(encoder.inputIds(prompts.get(row))), inputs.get(row).generation()));
        }
        return joining;
    }
}
