// Adam with every weight packed into one vector, so a step costs the same handful of kernels whatever
// the number of weight tensors.
//
// tfjs's own Adam (tf.train.adam) updates weight tensor by weight tensor: 14 kernels each, and a new
// scalar tensor for every constant it multiplies by. The networks driftgate trains are so small that a
// kernel's fixed cost (the engine's bookkeeping, a call into WebAssembly, an allocation) outweighs the
// arithmetic in it: profiled at batch 32 on the wasm backend, tfjs's Adam took about a quarter of a
// 4-16-3 MLP's training step (docs/benchmarks.md, "Training"). Here the gradients are concatenated, the
// moments live in two flat vectors, the same arithmetic runs once on the whole vector, and the result
// is cut back into the weights: for 4 weight tensors 31 kernels (8 of them reshapes that move no data)
// instead of 60, and no new scalar tensors instead of 26.
//
// The arithmetic is tfjs's, operation for operation (including the bias correction from a float32
// running product of beta), so the weights come out bit for bit as tf.train.adam leaves them; the unit
// test checks it. Unlike tf.train.adam it cannot save or restore its state (driftgate never saves
// optimizer state), and it expects the same weights in the same order at every step, which a compiled
// model's fit gives.
import { tf } from '../core/tfjs.js';

/** The moment vectors and the layout of the weights in them, fixed by the first step. */
interface Packed {
  names: string[];
  sizes: number[];
  first: tf.Variable;
  second: tf.Variable;
}

export class PackedAdamOptimizer extends tf.Optimizer {
  /** The name tfjs's serialization would know it by; the class is never registered or saved. */
  static get className(): string {
    return 'PackedAdam';
  }

  private readonly beta1: tf.Scalar;
  private readonly beta2: tf.Scalar;
  private readonly oneMinusBeta1: tf.Scalar;
  private readonly oneMinusBeta2: tf.Scalar;
  private readonly one: tf.Scalar;
  private readonly epsilon: tf.Scalar;
  private readonly negativeRate: tf.Scalar;
  /** beta1 and beta2 to the power of the step, kept as float32 products as tf.train.adam keeps them. */
  private readonly accBeta1: tf.Variable;
  private readonly accBeta2: tf.Variable;
  private packed: Packed | undefined;

  /**
   * @param learningRate - step size.
   * @param beta1 - decay of the first moment. @defaultValue 0.9
   * @param beta2 - decay of the second moment. @defaultValue 0.999
   * @param epsilon - added to the root of the second moment. @defaultValue the backend's epsilon (1e-7 for float32)
   */
  constructor(
    private readonly learningRate: number,
    beta1 = 0.9,
    beta2 = 0.999,
    epsilon = tf.backend().epsilon(),
  ) {
    super();
    this.beta1 = tf.keep(tf.scalar(beta1));
    this.beta2 = tf.keep(tf.scalar(beta2));
    this.oneMinusBeta1 = tf.keep(tf.scalar(1 - beta1));
    this.oneMinusBeta2 = tf.keep(tf.scalar(1 - beta2));
    this.one = tf.keep(tf.scalar(1));
    this.epsilon = tf.keep(tf.scalar(epsilon));
    this.negativeRate = tf.keep(tf.scalar(-learningRate));
    // Variables outlive a tidy; the tensors they start from do not.
    this.accBeta1 = tf.tidy(() => tf.variable(tf.scalar(beta1), false));
    this.accBeta2 = tf.tidy(() => tf.variable(tf.scalar(beta2), false));
  }

  applyGradients(variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void {
    const named = Array.isArray(variableGradients) ? variableGradients : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const weights = named.map(({ name }) => {
      const variable = tf.engine().registeredVariables[name];
      if (variable === undefined) throw new Error(`Adam was given a gradient for "${name}", which is not a variable`);
      return variable;
    });
    const packed = this.layout(weights);
    tf.tidy(() => {
      // A weight without a gradient (not connected to the loss) counts as a zero gradient; tf.train.adam
      // would leave it and its moments untouched. fit never hands over such a weight.
      const gradient = tf.concat(named.map(({ tensor }, i) => (tensor == null ? tf.zeros([packed.sizes[i]!]) : tf.reshape(tensor, [-1]))));
      const oneMinusAccBeta1 = tf.sub(this.one, this.accBeta1);
      const oneMinusAccBeta2 = tf.sub(this.one, this.accBeta2);
      const first = tf.add(tf.mul(packed.first, this.beta1), tf.mul(gradient, this.oneMinusBeta1));
      const second = tf.add(tf.mul(packed.second, this.beta2), tf.mul(tf.square(gradient), this.oneMinusBeta2));
      const correctedFirst = tf.div(first, oneMinusAccBeta1);
      const correctedSecond = tf.div(second, oneMinusAccBeta2);
      packed.first.assign(first);
      packed.second.assign(second);
      const step = tf.mul(tf.div(correctedFirst, tf.add(tf.sqrt(correctedSecond), this.epsilon)), this.negativeRate);
      tf.split(step, packed.sizes).forEach((part, i) => {
        const weight = weights[i]!;
        weight.assign(tf.add(tf.reshape(part, weight.shape), weight));
      });
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }

  /** The packed layout: made at the first step, then required to stay the same. */
  private layout(weights: readonly tf.Variable[]): Packed {
    const names = weights.map((w) => w.name);
    if (this.packed === undefined) {
      const sizes = weights.map((w) => w.size);
      const total = sizes.reduce((a, b) => a + b, 0);
      const zeros = (): tf.Variable => tf.tidy(() => tf.variable(tf.zeros([total]), false));
      this.packed = { names, sizes, first: zeros(), second: zeros() };
    } else if (names.length !== this.packed.names.length || names.some((name, i) => name !== this.packed!.names[i])) {
      throw new Error(`Adam was set up for the weights ${this.packed.names.join(', ')} and is now given ${names.join(', ')}; compile again with a new optimizer`);
    }
    return this.packed;
  }

  override dispose(): void {
    super.dispose();
    tf.dispose([this.beta1, this.beta2, this.oneMinusBeta1, this.oneMinusBeta2, this.one, this.epsilon, this.negativeRate, this.accBeta1, this.accBeta2]);
    if (this.packed) tf.dispose([this.packed.first, this.packed.second]);
    this.packed = undefined;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate };
  }
}
