"""Custom objects (Keras' register_keras_serializable, custom_objects=, custom_object_scope) and
serialize_keras_object / deserialize_keras_object.

Files stay data-only: a saved custom class is recorded by name ('Custom>Linear', or its class
name), and loading finds it only among the objects the user registered or passes in
`custom_objects` — never by importing a module named in the file. Built-ins and plugins keep
resolving through their registries; the registries ask this module only for names they lack.
"""
from __future__ import annotations

import inspect
from typing import Any, Iterator

from minigrad.errors import UnknownNameError

__all__ = ["register_keras_serializable", "register_serializable", "get_custom_objects", "custom_object_scope",
           "CustomObjectScope", "get_registered_name", "get_registered_object", "serialize_keras_object",
           "deserialize_keras_object", "model_spec", "model_from_spec"]

_GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}   # 'Package>Name' (or any key the user sets) -> object
_GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}     # object -> 'Package>Name'
_SCOPES: list[dict[str, Any]] = []            # custom_object_scope stack, innermost last
_PLAIN = (str, int, float, bool, type(None))


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Any:
    """Class/function decorator: save it as 'package>name' (name defaults to its __name__) and find it on load."""
    if not isinstance(package, str) or not package or ">" in package:
        raise ValueError(f"register_keras_serializable: package must be a non-empty str without '>', "
                         f"received {package!r}")

    def decorator(obj: Any) -> Any:
        registered = f"{package}>{obj.__name__ if name is None else name}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: cannot register {obj.__name__}, which has no "
                             "get_config() method")
        if _GLOBAL_CUSTOM_OBJECTS.get(registered, obj) is not obj:
            raise ValueError(f"register_keras_serializable: '{registered}' is already registered to "
                             f"{_GLOBAL_CUSTOM_OBJECTS[registered]!r}; pass another package or name")
        if _GLOBAL_CUSTOM_NAMES.get(obj, registered) != registered:
            raise ValueError(f"register_keras_serializable: {obj!r} is already registered as "
                             f"'{_GLOBAL_CUSTOM_NAMES[obj]}'")
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered
        return obj
    return decorator


register_serializable = register_keras_serializable  # minigrad's shorter name for the same decorator


def get_custom_objects() -> dict[str, Any]:
    """The global custom-objects dict (registered objects; add entries to it directly, as in Keras)."""
    return _GLOBAL_CUSTOM_OBJECTS


class CustomObjectScope:
    """`with custom_object_scope({'Linear': Linear}):` — these names resolve while loading inside the block."""

    def __init__(self, *custom_objects: dict[str, Any] | None) -> None:
        merged: dict[str, Any] = {}
        for objects in custom_objects:
            if objects is None:
                continue
            if not isinstance(objects, dict) or not all(isinstance(k, str) for k in objects):
                raise TypeError(f"custom_object_scope: expected dicts of name -> class or function, "
                                f"received {type(objects).__name__}")
            merged.update(objects)
        self.custom_objects = merged

    def __enter__(self) -> CustomObjectScope:
        _SCOPES.append(self.custom_objects)
        return self

    def __exit__(self, *exc: Any) -> None:
        _SCOPES.remove(self.custom_objects)


custom_object_scope = CustomObjectScope


def _dicts() -> Iterator[dict[str, Any]]:
    yield from reversed(_SCOPES)
    yield _GLOBAL_CUSTOM_OBJECTS


def get_registered_name(obj: Any) -> str:
    """'Package>Name' for a registered object, else its __name__ (Keras' get_registered_name)."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", type(obj).__name__))


def get_registered_object(name: str, custom_objects: dict[str, Any] | None = None,
                          module_objects: dict[str, Any] | None = None) -> Any:
    """The object a name stands for in custom_objects, the active scopes, the registrations (then module_objects), or None."""
    for objects in ([custom_objects] if custom_objects else []) + list(_dicts()) + (
            [module_objects] if module_objects else []):
        for key in (name, name.rpartition(">")[2]):  # 'Custom>Linear' also answers to {'Linear': ...}
            if key in objects:
                return objects[key]
    return None


# ----- hooks the registries call for names they do not know
def custom_name_of(registry: Any, obj: Any) -> str | None:
    """The name a custom object of registry's kind is saved under, or None if it is not one."""
    target = obj if isinstance(obj, type) or inspect.isroutine(obj) else type(obj)
    if not _fits(registry, target):
        return None
    if target in _GLOBAL_CUSTOM_NAMES:
        return _GLOBAL_CUSTOM_NAMES[target]
    for objects in _dicts():
        for key, value in objects.items():
            if value is target:
                return key
    if (isinstance(target, type) or inspect.isfunction(target)) and not target.__module__.startswith("minigrad."):
        return target.__name__  # a user's unregistered class or function: loading needs custom_objects
    return None


def custom_lookup(registry: Any, name: str) -> Any:
    """The custom object of registry's kind a saved name stands for, or None."""
    found = get_registered_object(name)
    return found if found is not None and _fits(registry, found) else None


def _fits(registry: Any, obj: Any) -> bool:
    validate = getattr(registry, "_validate", None)
    try:
        return validate is None or bool(validate(obj))
    except Exception:  # noqa: BLE001 - a validator that cannot judge obj rejects it
        return False


def unknown_hint(name: str) -> str:
    """What to do about a saved name nobody provides (appended to the registry's error)."""
    return (f"; if '{name}' is your own class, pass custom_objects={{'{name.rpartition('>')[2]}': ...}} to "
            "load_model (or use saving.custom_object_scope), or decorate it with "
            "@saving.register_keras_serializable()")


# ----- Keras' object (de)serialization
def _kind_registry(obj: Any) -> tuple[Any, str]:
    """(registry, registered name) of obj, trying layers first (models are layers)."""
    from minigrad.registry import all_registries  # every kind is registered: the package imports them all

    registries = all_registries()
    order = ["layers"] + [k for k in registries if k != "layers"]
    for kind in order:
        try:
            return registries[kind], registries[kind].name_of(obj)[0]
        except UnknownNameError:
            continue
    raise TypeError(f"serialize_keras_object: {obj!r} is not a layer, model or other registered kind; "
                    "register it with @saving.register_keras_serializable()")


def serialize_keras_object(obj: Any) -> Any:
    """A JSON-able description: {'module', 'class_name', 'config', 'registered_name'} for objects."""
    if isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    registry, name = _kind_registry(obj)
    if inspect.isroutine(obj):
        return {"module": f"minigrad.{registry.kind}", "class_name": "function", "config": name,
                "registered_name": name}
    config = obj.get_config() if not isinstance(obj, type) and hasattr(obj, "get_config") else {}
    return {"module": f"minigrad.{registry.kind}", "class_name": type(obj).__name__, "config": config,
            "registered_name": name}


def deserialize_keras_object(config: Any, custom_objects: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """The object serialize_keras_object() described, classes found only through registries and custom objects."""
    from minigrad.registry import all_registries

    if isinstance(config, _PLAIN) or isinstance(config, list):
        return [deserialize_keras_object(v, custom_objects) for v in config] if isinstance(config, list) else config
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"deserialize_keras_object: expected a dict with 'class_name' and 'config', "
                         f"received {config!r}")
    module = str(config.get("module", "")).rpartition(".")[2]
    registries = all_registries()
    kinds = [module] if module in registries else ["layers"] + [k for k in registries if k != "layers"]
    name = config.get("registered_name") or config["class_name"]
    with CustomObjectScope(custom_objects):
        for kind in kinds:
            registry = registries[kind]
            target = config["config"] if config["class_name"] == "function" else name
            try:
                found = registry.get(target)
            except UnknownNameError:
                if kind == kinds[-1]:
                    raise
                continue
            if config["class_name"] == "function" or not isinstance(found, type):
                return found
            return found.from_config(config.get("config") or {})
    raise ValueError(f"deserialize_keras_object: nothing provides '{name}'")  # pragma: no cover


# ----- whole models (saving.model's hooks); model classes are found through the layer registry, so
# saving never imports minigrad.models (models import saving for Model.save)
_MODEL_CLASSES = {"Sequential": "sequential", "Model": "functional"}  # saved class_name -> registered name


def _builtin_model(class_name: str) -> Any:
    from minigrad import layers

    return layers.registry.builtins()[_MODEL_CLASSES[class_name]]


def model_spec(model: Any) -> dict[str, Any]:
    """{'class_name', 'config'} of a model; a custom class also records its input shapes to rebuild it."""
    from minigrad import layers

    cls = type(model)
    if cls.__name__ in _MODEL_CLASSES and cls is _builtin_model(cls.__name__):
        return {"class_name": cls.__name__, "config": model.get_config()}
    name = custom_name_of(layers.registry, model)
    try:
        config = model.get_config()
    except NotImplementedError as e:
        raise TypeError(f"save_model: {e}; or save only the weights with save_weights") from e
    return {"class_name": name, "config": config, "custom": True,
            "input_shapes": [list(s) for s in model.input_shapes()]}


def model_from_spec(spec: dict[str, Any], path: str) -> Any:
    """The model model_spec() described: built-in classes by name, custom ones only from custom objects."""
    from minigrad import layers
    from minigrad.errors import SerializationError

    name, config = spec.get("class_name"), spec.get("config")
    if not isinstance(name, str) or not isinstance(config, dict):
        raise SerializationError(f"{path}: the model entry must have a class_name and a config")
    if not spec.get("custom"):
        if name not in _MODEL_CLASSES:
            raise SerializationError(f"{path}: the model entry must name Sequential or Model, received {name!r}")
        return _builtin_model(name).from_config(config)
    cls = get_registered_object(name)
    if cls is None:
        raise UnknownNameError(f"load_model: {path} holds a model of the custom class '{name}', which is not "
                               "registered" + unknown_hint(name))
    # a model is a Layer that can build itself from input shapes (models.base.ModelBase)
    if not (isinstance(cls, type) and issubclass(cls, layers.Layer) and hasattr(cls, "_ensure_built")):
        raise TypeError(f"load_model: custom object '{name}' is {cls!r}, not a model class")
    model = cls.from_config(config)
    shapes = spec.get("input_shapes")
    if shapes:
        model._ensure_built([tuple(s) for s in shapes])
    return model


def default_name(registry: Any, cls: type) -> str:
    """A loss's or metric's default name: its registered name, else (a user's class, registered with
    Keras' decorator or not) Keras' snake_case of the class name."""
    from minigrad.layers.base import to_snake_case

    if custom_name_of(registry, cls) is not None:
        return to_snake_case(cls.__name__)
    try:
        return registry.name_of(cls)[0]
    except (KeyError, ValueError):
        return to_snake_case(cls.__name__)
