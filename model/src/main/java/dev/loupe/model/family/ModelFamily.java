package dev.loupe.model.family;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.BatchAnnotator;
import dev.loupe.model.api.ImagePreprocessor;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.model.image.ImageDecoder;
import dev.loupe.model.onnx.Precision;
import dev.loupe.model.pkg.Manifest;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.Set;

/**
 * Everything Loupe knows about one kind of model, in one place, so that recognising, converting, opening and
 * preprocessing can never disagree about which models exist. The registry ({@code dev.loupe.model.ModelFamilies})
 * lists the built-in families and finds more through {@link java.util.ServiceLoader}
 * ({@code META-INF/services/dev.loupe.model.family.ModelFamily}; such a class needs a public no-argument
 * constructor).
 *
 * <p>Serialisable, since the annotator factories that carry a family travel to Flink tasks; two families are the
 * same family when their {@link #id()}s are equal.
 */
public interface ModelFamily extends Serializable {

    /** A short, stable name for messages and for keying loaded runtimes, e.g. {@code instructblip}. */
    String id();

    /** The checkpoints this family converts, in words, for "not supported" messages. */
    String supportedCheckpoints();

    /** The {@code family} values of the {@code manifest.json} of the packages this family opens. */
    Set<String> packageFamilies();

    /**
     * Whether a Hugging Face checkpoint with this {@code config.json} is one this family converts. Cheap: the
     * weights are not read; a family may still refuse the checkpoint on {@link #convert} with a precise reason.
     */
    boolean convertsCheckpoint(JsonNode config);

    /** Converts a checkpoint this family {@link #convertsCheckpoint recognises} into a package directory. */
    Manifest convert(Path checkpointDir, Path packageDir, Precision precision) throws IOException;

    /**
     * Converts with the given kind of LLaMA decoder graph ({@link dev.loupe.model.llm.DecoderGraphKind}); families
     * without a LLaMA decoder ignore it.
     */
    default Manifest convert(Path checkpointDir, Path packageDir, Precision precision,
                             dev.loupe.model.llm.DecoderGraphKind decoder) throws IOException {
        return convert(checkpointDir, packageDir, precision);
    }

    /** Loads the runtime of one of this family's packages, given its manifest (already read). */
    BatchAnnotator load(Path packageDir, Manifest manifest, RuntimeOptions options) throws IOException;

    /** The image preprocessing of one of this family's packages, decoding with {@code decoder}. */
    ImagePreprocessor preprocessor(Path packageDir, ImageDecoder decoder) throws IOException;
}
