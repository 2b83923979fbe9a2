// What the @platformatic/kafka adapter's clients (producer, consumers, admin) share.

/** The client settings every @platformatic/kafka client of the bus is made with. */
export interface PlatformaticClientSettings {
  clientId: string;
  bootstrapBrokers: string[];
  connectTimeout: number;
  timeout: number;
  retries: number;
  retryDelay: number;
}

interface ForceClosable {
  close(force: boolean, callback: (error?: Error | null) => void): void;
}

/**
 * Closes a producer or consumer without waiting for its streams to end by themselves (the
 * promise form of close(true) is hidden behind the callback overload in the typings).
 */
export function closeForced(client: ForceClosable): Promise<void> {
  return new Promise((resolve, reject) => client.close(true, (error) => (error ? reject(error) : resolve())));
}
