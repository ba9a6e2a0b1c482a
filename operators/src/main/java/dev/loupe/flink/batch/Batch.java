package dev.loupe.flink.batch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

/**
 * A batch emitted by {@link DynamicBatcher}: its elements in arrival order and, per element, how long it waited in
 * the batcher (reported as the result's {@code timings.queueMillis}). {@link #typeInfo} describes it to Flink
 * without Kryo.
 */
public class Batch<T> {
    public List<T> elements = new ArrayList<>();
    public long[] queueMillis = new long[0];

    public Batch() {}

    public Batch(List<T> elements, long[] queueMillis) {
        if (elements.size() != queueMillis.length) {
            throw new IllegalArgumentException(elements.size() + " elements but " + queueMillis.length + " wait times");
        }
        this.elements = new ArrayList<>(elements);
        this.queueMillis = queueMillis;
    }

    /** Flink type information of batches of {@code elementType}: a POJO of a list and a long array. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static <T> TypeInformation<Batch<T>> typeInfo(TypeInformation<T> elementType) {
        Map<String, TypeInformation<?>> fields = new HashMap<>();
        fields.put("elements", Types.LIST(elementType));
        fields.put("queueMillis", PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO);
        return (TypeInformation) Types.POJO(Batch.class, fields);
    }

    public int size() {
        return elements.size();
    }
}
