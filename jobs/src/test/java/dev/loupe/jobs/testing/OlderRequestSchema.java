package dev.loupe.jobs.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.schemas.AnnotationRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;

/**
 * An older version of the request schema, as a producer that has not upgraded still uses it: loupe's
 * AnnotationRequest without the fields added later (ocrTokens, generation, metadata), and requests written with it.
 */
public final class OlderRequestSchema {

    private static final Set<String> ADDED_LATER = Set.of("ocrTokens", "generation", "metadata");

    /** The schema (version 1). */
    public static final Schema V1 = v1();

    private OlderRequestSchema() {}

    private static Schema v1() {
        try {
            ObjectMapper json = new ObjectMapper();
            ObjectNode schema = (ObjectNode) json.readTree(AnnotationRequest.getClassSchema().toString());
            ArrayNode fields = (ArrayNode) schema.get("fields");
            for (int i = fields.size() - 1; i >= 0; i--) {
                if (ADDED_LATER.contains(fields.get(i).get("name").asText())) {
                    fields.remove(i);
                }
            }
            return new Schema.Parser().parse(json.writeValueAsString(schema));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A caption request with inline image bytes, as Avro binary written with {@link #V1}. */
    public static byte[] inlineCaption(String id, byte[] image) {
        Schema imageSchema = V1.getField("image").schema();
        GenericRecord source = new GenericData.Record(imageSchema);
        source.put("uri", null);
        source.put("bytes", ByteBuffer.wrap(image));
        GenericRecord request = new GenericData.Record(V1);
        request.put("id", id);
        request.put("image", source);
        request.put("task", new GenericData.EnumSymbol(V1.getField("task").schema(), "CAPTION"));
        request.put("prompt", null);
        request.put("question", null);
        request.put("candidates", java.util.List.of());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        try {
            new GenericDatumWriter<GenericRecord>(V1).write(request, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
