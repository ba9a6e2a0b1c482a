package dev.loupe.model.text;

import java.util.Arrays;

/**
 * The language model's special ids that generation needs: BOS, the EOS set (generation stops on any),
 * PAD (padding of batched rows), the image placeholder and, for encoder-decoder models, the decoder's
 * start id. An id the model does not have is -1 (Flan-T5 has no BOS; decoder-only models no decoder
 * start). Arrays must not be modified.
 */
public record SpecialTokenIds(int bos, int[] eos, int pad, int imageToken, int decoderStart) {

    /** The first EOS id: the one appended to ranking candidates. */
    public int primaryEos() {
        return eos[0];
    }

    public boolean isEos(int id) {
        for (int e : eos) {
            if (e == id) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SpecialTokenIds s && bos == s.bos && Arrays.equals(eos, s.eos) && pad == s.pad && imageToken == s.imageToken
                && decoderStart == s.decoderStart;
    }

    @Override
    public int hashCode() {
        return (((31 * bos + Arrays.hashCode(eos)) * 31 + pad) * 31 + imageToken) * 31 + decoderStart;
    }

    @Override
    public String toString() {
        return "SpecialTokenIds[bos=" + bos + ", eos=" + Arrays.toString(eos) + ", pad=" + pad + ", imageToken=" + imageToken
                + ", decoderStart=" + decoderStart + "]";
    }
}
