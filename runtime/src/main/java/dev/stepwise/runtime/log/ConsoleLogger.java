package dev.stepwise.runtime.log;

import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.event.LoggingEvent;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.spi.LoggingEventAware;

/**
 * An SLF4J logger that writes through {@link Console}. Key-value pairs of the fluent API ({@code
 * log.atInfo().addKeyValue("step", n)}) become fields of a JSON line.
 */
final class ConsoleLogger extends LegacyAbstractLogger implements LoggingEventAware {

  ConsoleLogger(String name) {
    this.name = name;
  }

  @Override
  public boolean isTraceEnabled() {
    return Console.enabled(name, Level.TRACE);
  }

  @Override
  public boolean isDebugEnabled() {
    return Console.enabled(name, Level.DEBUG);
  }

  @Override
  public boolean isInfoEnabled() {
    return Console.enabled(name, Level.INFO);
  }

  @Override
  public boolean isWarnEnabled() {
    return Console.enabled(name, Level.WARN);
  }

  @Override
  public boolean isErrorEnabled() {
    return Console.enabled(name, Level.ERROR);
  }

  @Override
  protected String getFullyQualifiedCallerName() {
    return null;
  }

  @Override
  protected void handleNormalizedLoggingCall(
      Level level, Marker marker, String pattern, Object[] arguments, Throwable error) {
    var message = MessageFormatter.basicArrayFormat(pattern, arguments);
    Console.write(System.currentTimeMillis(), level, name, message, Map.of(), error);
  }

  @Override
  public void log(LoggingEvent event) {
    var fields = new LinkedHashMap<String, Object>();
    if (event.getKeyValuePairs() != null) {
      event.getKeyValuePairs().forEach(pair -> fields.put(pair.key, pair.value));
    }
    var message = MessageFormatter.basicArrayFormat(event.getMessage(), event.getArgumentArray());
    var time = event.getTimeStamp() > 0 ? event.getTimeStamp() : System.currentTimeMillis();
    Console.write(time, event.getLevel(), name, message, fields, event.getThrowable());
  }
}
