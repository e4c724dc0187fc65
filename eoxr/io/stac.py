def load_stac(*a, **k): raise NotImplementedError
