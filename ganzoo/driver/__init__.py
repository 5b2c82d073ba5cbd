"""What runs inside one training step: the TrainState, the k-step driver with its objectives and
extension points, autocast precision, and gradient averaging across processes."""
