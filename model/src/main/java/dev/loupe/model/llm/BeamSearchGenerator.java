package dev.loupe.model.llm;

import ai.onnxruntime.OrtException;
import dev.loupe.model.api.GenerationConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Batched beam search (and beam sampling) over any {@link StepDecoder}: every request's beams are rows of one
 * decoding batch; each request is scored by its own {@link BeamSearchScorer}, and the state's rows follow the chosen
 * beams after every step. The input is run once per request and its state copied to the beams (they start
 * identical). A request whose search is done leaves the batch. A request's beams never depend on its batch mates.
 * Where the decoder offers them and the settings allow it ({@link TokenChoices}), each beam's top choices stand in
 * for its logits.
 */
final class BeamSearchGenerator {
    private final StepDecoder decoder;

    BeamSearchGenerator(StepDecoder decoder) {
        this.decoder = decoder;
    }

    /** Per request, its best {@code numReturnSequences} hypotheses, best first. */
    List<List<GeneratedSequence>> generate(List<VisualPrefix> inputs, List<int[]> contextIds, GenerationConfig config,
                                           long[] seeds, int[] eos) throws OrtException {
        int requests = inputs.size();
        int beams = config.numBeams();
        BeamSearchScorer[] scorers = new BeamSearchScorer[requests];
        for (int r = 0; r < requests; r++) {
            scorers[r] = new BeamSearchScorer(config, decoder.vocabSize(), eos, contextIds.get(r),
                    new SplittableRandom(seeds[r]));
        }
        int[] live = new int[requests]; // requests in the batch, in slot-block order
        for (int r = 0; r < requests; r++) {
            live[r] = r;
        }
        int rowsPerRequest = 1; // the first state holds one row per request
        int choices = decoder.offersChoices() ? TokenChoices.needed(config, eos.length, decoder.vocabSize()) : 0;
        StepOutputs outputs = choices == 0 ? StepOutputs.LOGITS : StepOutputs.choices(choices);
        DecodingState state = decoder.startFrom(inputs, outputs, config.maxNewTokens());
        try {
            while (true) {
                BeamSearchScorer.Advance step = choices > 0
                        ? BeamSearchScorer.advanceOnChoices(scorers, live, beams, rowsPerRequest, state)
                        : BeamSearchScorer.advance(scorers, live, beams, rowsPerRequest, state::lastLogits);
                List<Integer> stillLive = step.live();
                if (stillLive.isEmpty()) {
                    break;
                }
                int rows = stillLive.size() * beams;
                int[] gather = new int[rows];
                long[] ids = new long[rows];
                for (int i = 0; i < stillLive.size(); i++) {
                    for (int b = 0; b < beams; b++) {
                        gather[i * beams + b] = step.slots().get(i)[b];
                        ids[i * beams + b] = step.tokens().get(i)[b];
                    }
                }
                live = stillLive.stream().mapToInt(Integer::intValue).toArray();
                rowsPerRequest = beams;
                state = state.next(gather, ids, 1, outputs);
            }
        } finally {
            state.close();
        }
        List<List<GeneratedSequence>> results = new ArrayList<>(requests);
        for (BeamSearchScorer s : scorers) {
            results.add(s.results(config.numReturnSequences()));
        }
        return results;
    }
}
