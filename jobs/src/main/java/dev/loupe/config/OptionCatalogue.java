package dev.loupe.config;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ConfigurationUtils;

/**
 * The typed options one command understands, collected from option holder classes (classes whose
 * {@code public static final ConfigOption} fields are the options, e.g. {@code JobOptions}, {@code LoupeOptions}).
 * It finds an option by key, suggests close keys for a typo, and owns the key namespaces of its options (the
 * first segment of each key, e.g. {@code loupe.}): a key in such a namespace that is no option is a mistake,
 * while other keys (Flink's own) pass through. Add a command's options with {@link #of} or {@link #with}.
 */
public final class OptionCatalogue {

    /** One option with what help shows about it. */
    public record Entry(ConfigOption<?> option, String type, Class<?> holder) {
        public String key() {
            return option.key();
        }
    }

    private final Map<String, Entry> entries;

    private OptionCatalogue(Map<String, Entry> entries) {
        this.entries = entries;
    }

    /** The options of {@code holders}, in declaration order; a key declared twice must be the same option. */
    public static OptionCatalogue of(Class<?>... holders) {
        return new OptionCatalogue(new LinkedHashMap<>()).with(holders);
    }

    /** A new catalogue with the options of {@code holders} added. */
    public OptionCatalogue with(Class<?>... holders) {
        Map<String, Entry> all = new LinkedHashMap<>(entries);
        for (Class<?> holder : holders) {
            for (Field field : holder.getFields()) {
                int m = field.getModifiers();
                if (!Modifier.isStatic(m) || !ConfigOption.class.isAssignableFrom(field.getType())) {
                    continue;
                }
                ConfigOption<?> option;
                try {
                    option = (ConfigOption<?>) field.get(null);
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException("cannot read option " + holder.getName() + "." + field.getName(), e);
                }
                Entry previous = all.get(option.key());
                if (previous != null && !previous.option().equals(option)) {
                    throw new IllegalStateException("option key " + option.key() + " is declared differently in "
                            + previous.holder().getName() + " and " + holder.getName());
                }
                if (previous == null) {
                    all.put(option.key(), new Entry(option, typeName(field.getGenericType()), holder));
                }
            }
        }
        return new OptionCatalogue(all);
    }

    /** A new catalogue with some options of {@code holder} added (a command that reads only those). */
    public OptionCatalogue withOptions(Class<?> holder, ConfigOption<?>... options) {
        Set<String> keys = new java.util.HashSet<>();
        for (ConfigOption<?> o : options) {
            keys.add(o.key());
        }
        OptionCatalogue all = of(holder);
        Map<String, Entry> out = new LinkedHashMap<>(entries);
        for (Entry e : all.entries.values()) {
            if (keys.remove(e.key())) {
                out.putIfAbsent(e.key(), e);
            }
        }
        if (!keys.isEmpty()) {
            throw new IllegalStateException("options " + keys + " are not declared in " + holder.getName());
        }
        return new OptionCatalogue(out);
    }

    /** Every option, in registration order. */
    public List<Entry> entries() {
        return List.copyOf(entries.values());
    }

    /**
     * The option {@code key} sets: the option of that key, or the map option of which it is one entry
     * ({@code loupe.kafka.properties.security.protocol}, the form a nested YAML map flattens to).
     */
    public Optional<Entry> find(String key) {
        Entry exact = entries.get(key);
        if (exact != null) {
            return Optional.of(exact);
        }
        return entries.values().stream()
                .filter(e -> ConfigurationUtils.canBePrefixMap(e.option()) && key.startsWith(e.key() + ".")
                        && key.length() > e.key().length() + 1)
                .findFirst();
    }

    /** Whether {@code key} lies in a namespace of this catalogue's options (so an unknown one is a typo). */
    public boolean owns(String key) {
        return namespaces().stream().anyMatch(key::startsWith);
    }

    /** The first segments of the option keys, with their dot: {@code loupe.}, {@code batch.}. */
    public Set<String> namespaces() {
        Set<String> out = new TreeSet<>();
        for (String key : entries.keySet()) {
            int dot = key.indexOf('.');
            out.add(dot < 0 ? key : key.substring(0, dot + 1));
        }
        return out;
    }

    /** Up to {@code max} known keys closest to {@code key} (edit distance, or sharing its last segment). */
    public List<String> closeKeys(String key, int max) {
        String k = key.toLowerCase(Locale.ROOT);
        String last = k.substring(k.lastIndexOf('.') + 1);
        record Scored(String key, int distance) {}
        List<Scored> scored = new ArrayList<>();
        for (String known : entries.keySet()) {
            String kn = known.toLowerCase(Locale.ROOT);
            int d = EditDistance.between(k, kn);
            boolean sameLeaf = kn.substring(kn.lastIndexOf('.') + 1).equals(last);
            if (d <= Math.max(3, k.length() / 4) || sameLeaf || kn.startsWith(k) || k.startsWith(kn + ".")) {
                scored.add(new Scored(known, sameLeaf ? Math.min(d, 2) : d));
            }
        }
        scored.sort(Comparator.comparingInt(Scored::distance).thenComparing(Scored::key));
        Set<String> out = new LinkedHashSet<>();
        for (Scored s : scored) {
            if (out.size() == max) {
                break;
            }
            out.add(s.key());
        }
        return List.copyOf(out);
    }

    /** The default of {@code option} as it would be written in a configuration, or {@code null} when it has none. */
    public static String defaultText(ConfigOption<?> option) {
        if (!option.hasDefaultValue() || option.defaultValue() == null) {
            return null;
        }
        @SuppressWarnings("unchecked")
        ConfigOption<Object> o = (ConfigOption<Object>) option;
        Configuration c = new Configuration();
        c.set(o, option.defaultValue());
        return c.toMap().get(option.key());
    }

    private static String typeName(Type generic) {
        if (generic instanceof ParameterizedType p && p.getActualTypeArguments().length == 1) {
            Type t = p.getActualTypeArguments()[0];
            if (t instanceof ParameterizedType inner && inner.getRawType() == List.class) {
                return "List<" + simple(inner.getActualTypeArguments()[0]) + ">";
            }
            if (t instanceof ParameterizedType inner && inner.getRawType() == Map.class) {
                return "Map";
            }
            return simple(t);
        }
        return "?";
    }

    private static String simple(Type t) {
        if (t instanceof Class<?> c) {
            if (c.isEnum()) {
                List<String> names = new ArrayList<>();
                for (Object constant : c.getEnumConstants()) {
                    names.add(constant.toString());
                }
                return "Enum " + String.join("|", names);
            }
            return c.getSimpleName();
        }
        return t.getTypeName();
    }
}
