package dev.loupe.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.YamlParserUtils;

/**
 * Reads a configuration file in Flink 2's {@code config.yaml} style with Flink's own YAML parser: keys nested
 * ({@code loupe: {fetch: {timeout: 5s}}}) or flat ({@code loupe.fetch.timeout: 5s}) or both, YAML lists for list
 * options and YAML maps (or {@code k:v,k2:v2}) for map options. Nested keys flatten with dots, as Flink does.
 */
public final class YamlConfigFile {

    private YamlConfigFile() {}

    /** The file's settings as flat key to value strings, in Flink's string syntax; IllegalArgumentException if unreadable. */
    public static Map<String, String> load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--config " + file + ": no such file");
        }
        Map<String, Object> tree;
        try {
            tree = YamlParserUtils.loadYamlFile(file.toFile());
        } catch (Exception e) {
            throw new IllegalArgumentException("--config " + file + " is not valid YAML: " + e.getMessage(), e);
        }
        Map<String, String> flat = new LinkedHashMap<>();
        if (tree != null) {
            flatten("", tree, flat);
        }
        return flat;
    }

    private static void flatten(String prefix, Map<?, ?> tree, Map<String, String> out) {
        for (Map.Entry<?, ?> e : tree.entrySet()) {
            String key = prefix + e.getKey();
            Object value = e.getValue();
            if (value instanceof Map<?, ?> nested) {
                flatten(key + ".", nested, out);
            } else if (value instanceof List<?> list) {
                out.put(key, YamlParserUtils.toYAMLString(list).strip());
            } else {
                out.put(key, value == null ? "" : String.valueOf(value));
            }
        }
    }
}
