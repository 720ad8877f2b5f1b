import { AppError } from '../errors.ts';
import type { Store } from './port.ts';

/**
 * The stores this platform knows, by id and by short operator name (`local`, `s3`). Built by the
 * composition root; migration and the dataset location resolver look stores up here.
 *
 * @example
 *   const stores = new StoreRegistry().add('local', local).add('s3', s3);
 *   stores.get('s3') === stores.get(s3.id);
 */
export class StoreRegistry {
  readonly #byId = new Map<string, Store>();
  readonly #byName = new Map<string, Store>();

  add(name: string, store: Store): this {
    this.#byId.set(store.id, store);
    this.#byName.set(name, store);
    return this;
  }

  /** A store by name or id; AppError not_found listing the known names otherwise. */
  get(nameOrId: string): Store {
    const s = this.#byName.get(nameOrId) ?? this.#byId.get(nameOrId);
    if (s === undefined) {
      throw new AppError('not_found', `no store named ${JSON.stringify(nameOrId)}`, {
        hint: `known stores: ${[...this.#byName.keys()].join(', ') || 'none'} (configure S3 with ENCLAVE_S3_ENDPOINT and ENCLAVE_S3_BUCKET)`,
      });
    }
    return s;
  }

  has(nameOrId: string): boolean {
    return this.#byName.has(nameOrId) || this.#byId.has(nameOrId);
  }

  /** The operator name of a store id (for display), or the id itself. */
  nameOf(id: string): string {
    for (const [n, s] of this.#byName) if (s.id === id) return n;
    return id;
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }
}
