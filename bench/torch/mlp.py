"""PyTorch's side of the training benchmark (npm run bench:train -- --torch).

Trains the MLPs bench/train.ts describes on the same kind of synthetic rows (inputs uniform in [-1, 1];
one-hot random classes for a softmax output, values in [0, 50) for a linear one), with Adam at
learning rate 0.01, the rows shuffled every epoch and the last short batch kept, as tfjs's fit does.
One warm-up epoch, then the best of a few timings of a few epochs each: the same protocol as the tfjs
rows, so the two columns compare.

    python bench/torch/mlp.py --spec '<json>'    prints one JSON object on stdout

The spec comes from bench/train.ts, so the models and sizes are defined in one place:
{"rows": 10000, "epochs": 3, "repeats": 3, "threads": 2, "batchSizes": [32, 128],
 "models": [{"name": "...", "widths": [4, 16, 3], "output": "softmax"}, ...]}
Hidden layers are Dense + ReLU, kernels Glorot-uniform and biases zero, as buildNetwork makes them.
"""

import argparse
import json
import platform
import time

import torch
from torch import nn


def network(widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        dense = nn.Linear(fan_in, fan_out)
        nn.init.xavier_uniform_(dense.weight)
        nn.init.zeros_(dense.bias)
        layers.append(dense)
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def synthetic_rows(rows: int, widths: list[int], output: str, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(rows, widths[0], generator=generator) * 2 - 1
    if output == "softmax":
        classes = torch.randint(widths[-1], (rows,), generator=generator)
        y = nn.functional.one_hot(classes, widths[-1]).float()
    else:
        y = torch.rand(rows, 1, generator=generator) * 50
    return x, y


def loss_of(output: str):
    # Cross-entropy from the logits is what softmax + categorical cross-entropy computes, in one fused
    # kernel: the idiomatic PyTorch form, and the one a PyTorch user would time.
    if output == "softmax":
        return lambda logits, y: nn.functional.cross_entropy(logits, y)
    return nn.functional.mse_loss


def epoch(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn, x: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator) -> float:
    order = torch.randperm(x.shape[0], generator=generator)
    xs, ys = x[order], y[order]
    # The epoch's loss is summed on the tensor side and read once, as tfjs reads its logs once an epoch.
    total = torch.zeros(())
    for start in range(0, x.shape[0], batch_size):
        xb, yb = xs[start : start + batch_size], ys[start : start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.detach() * xb.shape[0]
    return total.item() / x.shape[0]


def throughput(spec: dict, model_spec: dict, batch_size: int) -> dict:
    generator = torch.Generator().manual_seed(1)
    torch.manual_seed(7)
    widths, output = model_spec["widths"], model_spec["output"]
    x, y = synthetic_rows(spec["rows"], widths, output, generator)
    model = network(widths)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = loss_of(output)
    model.train()
    epoch(model, optimizer, loss_fn, x, y, batch_size, generator)  # warm-up
    best = 0.0
    loss = float("nan")
    for _ in range(spec["repeats"]):
        started = time.perf_counter()
        for _ in range(spec["epochs"]):
            loss = epoch(model, optimizer, loss_fn, x, y, batch_size, generator)
        best = max(best, spec["rows"] * spec["epochs"] / (time.perf_counter() - started))
    return {"model": model_spec["name"], "batchSize": batch_size, "samplesPerSecond": best, "lastEpochLoss": loss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spec", required=True, help="the JSON spec bench/train.ts passes")
    spec = json.loads(parser.parse_args().spec)
    torch.set_num_threads(spec["threads"])
    rows = [throughput(spec, m, b) for m in spec["models"] for b in spec["batchSizes"]]
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "python": platform.python_version(),
                "threads": torch.get_num_threads(),
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
