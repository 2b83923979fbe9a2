#!/usr/bin/env node
// The `driftgate` command.
import { ConfigError, createLogger, describeError, loadConfig } from '../core/index.js';
import { exitOnSignals } from './shutdown.js';

const USAGE = `usage: driftgate <command>

commands:
  serve      run the gateway on the model repository, with the drift monitor and the retrain loop (default)
  monitor    run only the drift monitor, as a Kafka consumer (needs KAFKA_BROKERS)
  retrain    run only the retrain loop, as a Kafka consumer (needs KAFKA_BROKERS)
  train      train or fine-tune a model from a CSV/JSONL file and write a new version
  evaluate   score a model version on labelled data: metrics and error analysis
  demo       drive traffic with a drift at a stack (or one of its own) and watch the loop recover
  openapi    print the OpenAPI document of the HTTP API
  config     print every configuration option with its default

\`driftgate train --help\`, \`driftgate evaluate --help\` and \`driftgate demo --help\` list their flags.

Configuration comes from environment variables (see README); DRIFTGATE_CONFIG names an optional JSON file.`;

async function serve(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  // Each command loads only what it uses: the gateway, its runtimes and tfjs come in with the stack.
  const { startDriftgate } = await import('./stack.js');
  // Signals are handled from the start: the gateway answers (and may hold requests) while the rest of
  // the stack still starts (the monitor's thread, the retrain loop); a SIGTERM then waits for the
  // start to finish and closes everything gracefully.
  const starting = startDriftgate(config, logger);
  exitOnSignals(logger, async () => (await starting).close());
  const driftgate = await starting;
  const { gateway, port } = driftgate;
  logger.info('gateway listening', { port, host: config.host, repo: config.modelRepo, bus: driftgate.bus.kind });
  if (driftgate.grpcPort !== undefined) logger.info('gRPC listening', { port: driftgate.grpcPort, host: config.host, services: ['inference.GRPCInferenceService', 'grpc.health.v1.Health'] });
  if (driftgate.monitor) logger.info('drift monitor running', { port: driftgate.monitor.port, store: config.monitorStore });
  if (driftgate.retrainer) logger.info('retrain loop running', { store: config.retrainStore });
  logger.info('models loaded', { models: gateway.context.registry.status().map((m) => `${m.name}@${m.servingVersion ?? 'none'}`) });
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'serve';
  switch (command) {
    case 'serve':
      return serve();
    case 'monitor': {
      const { monitorCommand } = await import('./monitor.js');
      const config = loadConfig();
      return monitorCommand(config, createLogger(config.logLevel));
    }
    case 'retrain': {
      const { retrainCommand } = await import('./retrain.js');
      const config = loadConfig();
      return retrainCommand(config, createLogger(config.logLevel));
    }
    case 'train': {
      const { trainCommand } = await import('./train.js');
      process.exitCode = await trainCommand(argv.slice(1));
      return;
    }
    case 'evaluate': {
      const { evaluateCommand } = await import('./evaluate.js');
      process.exitCode = await evaluateCommand(argv.slice(1));
      return;
    }
    case 'demo': {
      const { demoCommand } = await import('./demo.js');
      // Exit at once: keep-alive sockets of the traffic must not hold the process open.
      return process.exit(await demoCommand(argv.slice(1)));
    }
    case 'openapi': {
      const { buildOpenApi } = await import('../serve/index.js');
      process.stdout.write(JSON.stringify(buildOpenApi(), null, 2) + '\n');
      return;
    }
    case 'config': {
      const { describeConfig } = await import('../core/index.js');
      for (const row of describeConfig()) process.stdout.write(`${row.env}=${row.default}\t${row.doc}\n`);
      return;
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return;
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(err.message + '\n');
    process.exit(2);
  }
  process.stderr.write(`driftgate: ${describeError(err)}\n`);
  process.exit(1);
});
