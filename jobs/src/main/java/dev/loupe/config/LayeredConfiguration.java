package dev.loupe.config;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;

/**
 * One command's configuration built from layers, each overriding the ones before it: typically the cluster's
 * configuration, then the {@code --config} file, then {@code -D} settings, then the command's own flags (see
 * {@link JobArguments}). Map options merge entry by entry across layers. {@link #build()}
 * refuses keys in the catalogue's namespaces that are no option (naming the close known keys) and values that do not
 * parse as the option's type, saying where the value came from.
 */
public final class LayeredConfiguration {

    private record Layer(String origin, Map<String, String> values) {}

    private final OptionCatalogue catalogue;
    private final List<Layer> layers = new ArrayList<>();

    public LayeredConfiguration(OptionCatalogue catalogue) {
        this.catalogue = catalogue;
    }

    /** Adds a layer that wins over those added before; {@code origin} names it in errors, e.g. {@code -D}. */
    public LayeredConfiguration add(String origin, Map<String, String> values) {
        layers.add(new Layer(origin, new LinkedHashMap<>(values)));
        return this;
    }

    /** The merged, checked configuration; IllegalArgumentException naming the key, its origin and the problem. */
    public Configuration build() {
        Map<String, String> plain = new LinkedHashMap<>();
        Map<String, String> origin = new HashMap<>();
        Map<ConfigOption<Map<String, String>>, Map<String, String>> maps = new LinkedHashMap<>();
        for (Layer layer : layers) {
            Map<ConfigOption<Map<String, String>>, Map<String, String>> layerMaps = new LinkedHashMap<>();
            for (var e : layer.values().entrySet()) {
                String key = e.getKey().strip();
                var entry = catalogue.find(key);
                if (entry.isEmpty() && catalogue.owns(key)) {
                    throw unknown(key, layer.origin());
                }
                origin.put(key, layer.origin());
                if (entry.isPresent() && isMap(entry.get())) {
                    @SuppressWarnings("unchecked")
                    ConfigOption<Map<String, String>> option = (ConfigOption<Map<String, String>>) entry.get().option();
                    layerMaps.computeIfAbsent(option, o -> new LinkedHashMap<>()).put(key, e.getValue());
                    origin.put(option.key(), layer.origin());
                } else {
                    plain.put(key, e.getValue());
                }
            }
            layerMaps.forEach((option, raw) -> {
                Map<String, String> parsed;
                try {
                    parsed = Configuration.fromMap(raw).get(option);
                } catch (IllegalArgumentException ex) {
                    throw invalid(option.key(), null, layer.origin(),
                            "Map (k:v,k2:v2 or a YAML map)", ex);
                }
                maps.computeIfAbsent(option, o -> new LinkedHashMap<>()).putAll(parsed);
            });
        }
        Configuration conf = Configuration.fromMap(plain);
        maps.forEach(conf::set);
        for (OptionCatalogue.Entry entry : catalogue.entries()) {
            if (!origin.containsKey(entry.key())) {
                continue;
            }
            try {
                conf.getOptional(entry.option());
            } catch (IllegalArgumentException ex) {
                throw invalid(entry.key(), plain.get(entry.key()), origin.get(entry.key()), entry.type(), ex);
            }
        }
        return conf;
    }

    private static boolean isMap(OptionCatalogue.Entry entry) {
        return entry.type().equals("Map");
    }

    private IllegalArgumentException unknown(String key, String origin) {
        List<String> close = catalogue.closeKeys(key, 5);
        return new IllegalArgumentException("unknown option " + key + " (" + origin + ")"
                + (close.isEmpty() ? "" : "; did you mean " + String.join(", ", close) + "?")
                + " Every option is listed by --help.");
    }

    private static IllegalArgumentException invalid(String key, String value, String origin, String type,
            IllegalArgumentException cause) {
        boolean hide = type.equals("Map") || GlobalConfiguration.isSensitive(key);
        return new IllegalArgumentException(key + (hide ? "" : "=" + value) + " (" + origin + ") is not a valid "
                + type + typeHint(type), cause);
    }

    /** How a value of {@code type} reads in an error: {@code a duration (e.g. 500ms, 10s, 2min)}. */
    static String typeNoun(String type) {
        return switch (type) {
            case "Duration" -> "a duration (e.g. 500ms, 10s, 2min)";
            case "MemorySize" -> "a memory size (e.g. 512kb, 20mb)";
            case "Integer", "Long" -> "a whole number";
            case "Double", "Float" -> "a number";
            case "Boolean" -> "true or false";
            default -> type.startsWith("Enum ") ? "one of " + type.substring(5).replace("|", ", ") : "a valid " + type;
        };
    }

    private static String typeHint(String type) {
        return switch (type) {
            case "Duration" -> " (e.g. 500ms, 10s, 2min)";
            case "MemorySize" -> " (e.g. 512kb, 20mb)";
            case "Integer", "Long" -> " (a whole number)";
            case "Boolean" -> " (true or false)";
            default -> type.startsWith("List") ? " (a;b or a YAML list)" : "";
        };
    }
}
