package dev.atrium.core.entity;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.databind.DatabindContext;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.jsontype.impl.TypeIdResolverBase;
import dev.atrium.core.JsonSerializable;
import java.io.IOException;

/**
 * Type ids for a value whose declared type is generic ({@link Reply.Accepted}): the class
 * name, accepted only for our own {@link JsonSerializable} types, so a message can never
 * name an arbitrary class to instantiate (Jackson's usual gadget risk with class names).
 */
public final class SerializableTypeIdResolver extends TypeIdResolverBase {

  @Override
  public String idFromValue(Object value) {
    return idFromValueAndType(value, value.getClass());
  }

  @Override
  public String idFromValueAndType(Object value, Class<?> type) {
    if (!JsonSerializable.class.isAssignableFrom(type)) {
      throw new IllegalArgumentException(type.getName() + " is not a JsonSerializable type");
    }
    return type.getName();
  }

  @Override
  public JavaType typeFromId(DatabindContext context, String id) throws IOException {
    Class<?> type;
    try {
      type = context.getTypeFactory().findClass(id);
    } catch (ClassNotFoundException e) {
      throw com.fasterxml.jackson.databind.exc.InvalidTypeIdException.from(null, id + ": no such class",
          context.constructType(Object.class), id);
    }
    if (!JsonSerializable.class.isAssignableFrom(type)) {
      throw com.fasterxml.jackson.databind.exc.InvalidTypeIdException.from(null, id + " is not a JsonSerializable type",
          context.constructType(Object.class), id);
    }
    return context.constructType(type);
  }

  @Override
  public JsonTypeInfo.Id getMechanism() {
    return JsonTypeInfo.Id.CUSTOM;
  }
}
