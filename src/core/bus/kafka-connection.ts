// One kafkajs client (producer or admin) connected on first use and shared by every caller after.
// A failed connect is not kept: the next use tries again (the broker may be back by then).

interface Connectable {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

export class LazyConnection<C extends Connectable> {
  private client: Promise<C> | undefined;

  constructor(private readonly create: () => C) {}

  get(): Promise<C> {
    if (this.client) return this.client;
    const connecting = (async () => {
      const client = this.create();
      try {
        await client.connect();
      } catch (err) {
        await client.disconnect().catch(() => undefined);
        throw err;
      }
      return client;
    })();
    this.client = connecting;
    connecting.catch(() => {
      if (this.client === connecting) this.client = undefined;
    });
    return connecting;
  }

  /** The client connected or connecting now, if any, without starting one; undefined when its connect failed. */
  async current(): Promise<C | undefined> {
    if (!this.client) return undefined;
    return this.client.catch(() => undefined);
  }

  /** Lets go of `client` when it is still the current one; true when it was. */
  async forget(client: C): Promise<boolean> {
    if (this.client === undefined) return false;
    const current = await this.client.catch(() => undefined);
    if (current !== client) return false;
    this.client = undefined;
    return true;
  }
}
