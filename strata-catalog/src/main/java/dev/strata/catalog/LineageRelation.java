package dev.strata.catalog;

import dev.strata.core.InvalidInputException;
import java.util.Locale;

/** How one commit derives from another, possibly in another repository. Persisted by wire name. */
public enum LineageRelation {
    BASE_MODEL,
    FINETUNE_OF,
    ADAPTER_OF,
    QUANTIZED_FROM,
    RESUMED_FROM;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static LineageRelation fromWire(String s) {
        for (LineageRelation r : values()) {
            if (r.wireName().equals(s)) {
                return r;
            }
        }
        throw new InvalidInputException("unknown lineage relation '" + s
                + "'; expected base_model, finetune_of, adapter_of, quantized_from or resumed_from");
    }
}
