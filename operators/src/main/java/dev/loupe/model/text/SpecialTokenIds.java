package dev.loupe.model.text;

import java.util.Arrays;

/**
 * The language model's special ids that generation needs: BOS, the EOS set (generation stops on any),
 * PAD (left padding of batched rows) and the image placeholder. Arrays must not be modified.
 */
public record SpecialTokenIds(int bos, int[] eos, int pad, int imageToken) {

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
        return o instanceof SpecialTokenIds s && bos == s.bos && Arrays.equals(eos, s.eos) && pad == s.pad && imageToken == s.imageToken;
    }

    @Override
    public int hashCode() {
        return ((31 * bos + Arrays.hashCode(eos)) * 31 + pad) * 31 + imageToken;
    }

    @Override
    public String toString() {
        return "SpecialTokenIds[bos=" + bos + ", eos=" + Arrays.toString(eos) + ", pad=" + pad + ", imageToken=" + imageToken + "]";
    }
}
