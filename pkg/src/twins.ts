// Objects one entry made, used by another. Each entry ("kms-instance", "/envelope") has a
// wasm module of its own, and an object's memory is in the module that made it. So a
// key provider or cache carries, under a key every copy of the package shares
// (Symbol.for), a way to make its twin in the module of the entry that uses it: a
// provider whose keys are in wasm memory lends them through calls into its own module
// (the keys never move); one that reaches a proxy or KMS makes a twin from its settings;
// a cache, an empty cache with its limits (each data key still within them).

/** The key under which an object offers its twin in another entry's module. */
export const TWIN = Symbol.for("kms-instance.twin");

/** A module's exports: the key the twins are kept under (one twin per module). */
type Module = object;

/** An object that offers a twin in another entry's module. */
export interface Twinned {
  [TWIN](module: Module): unknown;
}

/** The twin `value` offers in `module`, or `undefined` when it offers none. */
export function twinIn(value: unknown, module: Module): unknown {
  const offer = (value as Partial<Twinned> | null)?.[TWIN];
  return typeof offer === "function" ? offer.call(value, module) : undefined;
}

/** The twins of one object, one per module, made when first asked and freed with it. */
export class Twins<T extends { free(): void }> {
  #made = new Map<Module, T>();
  #make: ((module: Module) => T) | undefined;

  constructor(make: (module: Module) => T) {
    this.#make = make;
  }

  /** The twin in `module` (undefined once freed). */
  of(module: Module): T | undefined {
    if (!this.#make) return undefined;
    let twin = this.#made.get(module);
    if (!twin) this.#made.set(module, (twin = this.#make(module)));
    return twin;
  }

  /** Frees every twin; no more are made. */
  free(): void {
    for (const twin of this.#made.values()) twin.free();
    this.#made.clear();
    this.#make = undefined;
  }
}
